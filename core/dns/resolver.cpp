// Names of the resolver's statuses, for logs and outpostctl.
#include "core/dns/resolver.hpp"

namespace outpost::dns {

const char* to_string(status s) {
    switch (s) {
        case status::ok:
            return "ok";
        case status::nxdomain:
            return "nxdomain";
        case status::nodata:
            return "nodata";
        case status::servfail:
            return "servfail";
        case status::timeout:
            return "timeout";
        case status::error:
            return "error";
    }
    return "error";
}

}  // namespace outpost::dns
