#include "core/spool/fresh.hpp"

#include <string>

#include <doctest/doctest.h>

using outpost::spool::fresh_files;

TEST_CASE("a fresh file is taken once, then read from disk") {
    fresh_files fresh;
    fresh.put("A", "envelope\n\nmessage");
    CHECK(fresh.take("B") == std::nullopt);
    CHECK(fresh.take("A") == std::optional<std::string>("envelope\n\nmessage"));
    // Its first delivery took it: a retry must read the file, which holds the results.
    CHECK(fresh.take("A") == std::nullopt);
    CHECK(fresh.size() == 0);
    CHECK(fresh.bytes() == 0);
}

TEST_CASE("a deleted message's copy is forgotten") {
    fresh_files fresh;
    fresh.put("A", "a");
    fresh.put("B", "b");
    fresh.forget("A");
    CHECK(fresh.take("A") == std::nullopt);
    CHECK(fresh.take("B") == std::optional<std::string>("b"));
}

TEST_CASE("fresh files are bounded in files and bytes, the oldest dropped first") {
    fresh_files fresh({3, 100});
    fresh.put("A", std::string(10, 'a'));
    fresh.put("B", std::string(10, 'b'));
    fresh.put("C", std::string(10, 'c'));
    fresh.put("D", std::string(10, 'd'));  // a fourth file: A goes
    CHECK(fresh.size() == 3);
    CHECK(fresh.take("A") == std::nullopt);
    fresh.put("E", std::string(85, 'e'));  // 20 + 85 > 100 bytes: B and C go
    CHECK(fresh.bytes() == 95);
    CHECK(fresh.take("B") == std::nullopt);
    CHECK(fresh.take("C") == std::nullopt);
    CHECK(fresh.take("D").has_value());
    CHECK(fresh.take("E").has_value());
    // Larger than the whole limit: not kept, and nothing else dropped for it.
    fresh.put("F", "f");
    fresh.put("G", std::string(101, 'g'));
    CHECK(fresh.take("G") == std::nullopt);
    CHECK(fresh.take("F").has_value());
}

TEST_CASE("ids taken long ago do not pile up in the order kept for dropping") {
    fresh_files fresh({4, 1000});
    fresh.put("held", "h");  // never taken: its destination is down
    for (int n = 0; n < 10000; ++n) {
        auto id = "m" + std::to_string(n);
        fresh.put(id, "x");
        CHECK(fresh.take(id).has_value());
    }
    // The one never taken was dropped eventually rather than kept forever at the front.
    CHECK(fresh.size() == 0);
    CHECK(fresh.take("held") == std::nullopt);
}
