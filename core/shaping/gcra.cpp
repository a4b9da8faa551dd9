#include "core/shaping/gcra.hpp"

#include <algorithm>

namespace outpost::shaping {

gcra_take gcra(
    std::int64_t tat,
    std::int64_t now,
    std::int64_t interval,
    std::uint64_t burst,
    std::size_t wanted
) {
    interval = std::max<std::int64_t>(interval, 1);
    burst = std::max<std::uint64_t>(burst, 1);
    tat = std::max(tat, now);
    // A permit may go while the TAT it leaves behind is at most burst intervals ahead of now.
    auto limit = now + static_cast<std::int64_t>(burst) * interval;
    auto room = (limit - tat) / interval;
    gcra_take t;
    t.granted = static_cast<std::size_t>(
        std::clamp<std::int64_t>(room, 0, static_cast<std::int64_t>(wanted))
    );
    t.tat = tat + static_cast<std::int64_t>(t.granted) * interval;
    if (t.granted < wanted)
        t.wait = t.tat + interval - limit;
    return t;
}

}  // namespace outpost::shaping
