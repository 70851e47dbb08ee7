// Placeholder removed by the address-mapping owner.
#include "mapper.hpp"
