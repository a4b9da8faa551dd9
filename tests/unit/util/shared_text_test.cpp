#include "core/util/shared_text.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using outpost::util::shared_text;

TEST_CASE("shared_text holds each distinct text once, while anything holds it") {
    auto before = shared_text::pool_size();
    {
        std::vector<shared_text> replies;
        for (int i = 0; i < 1000; ++i)
            replies.emplace_back(std::string("451 4.4.1 connection refused by mx.example.net"));
        CHECK(shared_text::pool_size() == before + 1);
        CHECK(&replies.front().str() == &replies.back().str());
        CHECK(replies[500] == "451 4.4.1 connection refused by mx.example.net");
        replies[1] = "421 4.7.0 try again later";
        CHECK(shared_text::pool_size() == before + 2);
        CHECK(replies[1].str() == "421 4.7.0 try again later");
        CHECK(replies[2].str() == "451 4.4.1 connection refused by mx.example.net");
    }
    // The last holder gone, the text goes too.
    CHECK(shared_text::pool_size() == before);
}

TEST_CASE("shared_text: empty, clear, copies and conversion to a string") {
    shared_text t;
    CHECK(t.empty());
    CHECK(t.str().empty());
    t = "held back: warming cap";
    shared_text copy = t;
    CHECK_FALSE(copy.empty());
    const std::string& as_string = copy;
    CHECK(as_string == "held back: warming cap");
    t.clear();
    CHECK(t.empty());
    CHECK(copy == "held back: warming cap");
    shared_text none = "";
    CHECK(none.empty());
}

TEST_CASE("shared_text is safe to intern and drop from several threads at once") {
    auto before = shared_text::pool_size();
    std::atomic<int> wrong = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([t, &wrong] {
            for (int i = 0; i < 20000; ++i) {
                shared_text a = "451 4.4.1 down" + std::to_string(i % 7);
                shared_text b = a;
                a = "421 " + std::to_string((i + t) % 5);
                if (!b.str().starts_with("451 4.4.1 down"))
                    ++wrong;
            }
        });
    for (auto& th : threads)
        th.join();
    CHECK(wrong == 0);
    CHECK(shared_text::pool_size() == before);
}
