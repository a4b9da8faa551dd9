#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "dialog_runner.hpp"

TEST_CASE("every dialog in tests/data/dialogs replays against the session") {
    auto dir = std::filesystem::path(OUTPOST_SOURCE_DIR) / "tests/data/dialogs";
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".dialog")
            continue;
        std::ifstream in(entry.path());
        std::stringstream ss;
        ss << in.rdbuf();
        auto r = outpost::test::run_dialog(ss.str());
        INFO(entry.path().filename().string());
        CHECK_MESSAGE(r.ok, r.failure);
        ++count;
    }
    CHECK(count >= 10);
}

TEST_CASE("the dialog runner itself fails on a wrong expectation") {
    auto r = outpost::test::run_dialog("S: 220\nC: NOOP\nS: 250 2.0.0\nC: NOOP\nS: 550\n");
    CHECK_FALSE(r.ok);
    CHECK(r.failure.find("line 5") != std::string::npos);
}
