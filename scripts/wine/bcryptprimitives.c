/*
 * A test-only stand-in for Windows' bcryptprimitives.dll, for running gantry.exe under
 * Debian's wine 8, which lacks it. Rust's standard library asks it for random bytes
 * (ProcessPrng, Windows 10 and later); this answers from RtlGenRandom
 * (advapi32's SystemFunction036), which wine has. scripts/release-check.sh builds it
 * with mingw-w64 beside its copy of the binary. Releases never ship it: Windows has
 * the real one.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
