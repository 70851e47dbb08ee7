// libFuzzer target: RFC 7915 §5 (translate_6to4) on arbitrary bytes. See fuzz_common.hpp.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerInitialize(int *, char ***) { return eamclat::fuzz::init(); }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eamclat::fuzz::one_input(false, data, size);
    return 0;
}
