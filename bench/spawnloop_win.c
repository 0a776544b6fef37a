/* The floor of isolation under Wine (or Windows): N bare CreateProcess of this program in child
 * mode (which returns at once), each waited for. Timed in-process.
 * Usage: bench_spawnloop.exe N. Prints "RESULT spawnloop_s SECONDS N". */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--child"))
		return 0;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20;
	char self[MAX_PATH];
	if (!GetModuleFileNameA(NULL, self, sizeof self))
		return 3;
	char cmd[MAX_PATH + 32];
	LARGE_INTEGER f, t0, t1;
	QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&t0);
	for (long i = 0; i < n; i++) {
		STARTUPINFOA si;
		PROCESS_INFORMATION pi;
		memset(&si, 0, sizeof si);
		si.cb = sizeof si;
		snprintf(cmd, sizeof cmd, "\"%s\" --child", self);
		if (!CreateProcessA(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
			fprintf(stderr, "bench_spawnloop: CreateProcess failed (%lu)\n",
				(unsigned long)GetLastError());
			return 3;
		}
		WaitForSingleObject(pi.hProcess, INFINITE);
		CloseHandle(pi.hThread);
		CloseHandle(pi.hProcess);
	}
	QueryPerformanceCounter(&t1);
	printf("RESULT spawnloop_s %.6f %ld\n",
	       (double)(t1.QuadPart - t0.QuadPart) / (double)f.QuadPart, n);
	return 0;
}
