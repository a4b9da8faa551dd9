// systemd's notify protocol (sd_notify(3)) spoken directly: one datagram to $NOTIFY_SOCKET.
#pragma once

#include <string_view>

namespace outpost::daemon {

// Sends "READY=1", "STOPPING=1", "STATUS=..." and so on. Does nothing outside systemd.
void notify(std::string_view state);

}  // namespace outpost::daemon
