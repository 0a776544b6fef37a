/* POSIX: the program exports WPUCompleteOverlappedRequest, as ws2_32 does, and .so providers bind to it. */
#include "../../upcalls.h"

int WSPAPI WPUCompleteOverlappedRequest(SOCKET s, LPWSAOVERLAPPED lpOverlapped, DWORD dwError,
					DWORD cbTransferred, LPINT lpErrno)
{
	return wsph_wpu_complete_overlapped(s, lpOverlapped, dwError, cbTransferred, lpErrno);
}
