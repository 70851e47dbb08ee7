#include "log.hpp"

RTE_LOG_REGISTER(eamclat_logtype, eamclat, INFO);
