// The one translation unit that compiles Boost.JSON (header-only distribution, built once here).
#include <boost/json/src.hpp>
