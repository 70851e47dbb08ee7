// libFuzzer target: RFC 7915 §4 (translate_4to6) on arbitrary bytes. See fuzz_common.hpp.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerInitialize(int *, char ***) { return eamclat::fuzz::init(); }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eamclat::fuzz::one_input(true, data, size);
    return 0;
}
