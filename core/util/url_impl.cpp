// Boost.URL compiled once for the whole program (webhook URLs).
#include <boost/url/src.hpp>
