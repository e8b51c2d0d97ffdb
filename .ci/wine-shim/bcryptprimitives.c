/*
 * bcryptprimitives.dll for Wine 8 (Debian 12), which has none.
 *
 * Go's runtime on Windows (1.24 and later) loads bcryptprimitives.dll from
 * system32 at start and takes its random numbers from ProcessPrng; without
 * the DLL every Go program dies with "bcryptprimitives.dll not found"
 * before main. Windows 10 and later have the DLL; Wine gained one after
 * 8.0. This shim, for .ci/wine's throw-away Wine prefix only, exports the
 * one function Go uses and answers it from Wine's BCryptGenRandom. It is
 * never shipped: kfsidebar.exe uses the real DLL on Windows.
 *
 * Built by .ci/wine:
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll \
 *     bcryptprimitives.c bcryptprimitives.def -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

/* ProcessPrng fills data with len cryptographically random bytes; it
 * always returns TRUE on Windows, and Go throws if it does not. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
