/* The Winsock 2 SPI types: <ws2spi.h> on Windows, a layout-identical mirror everywhere else. */
#ifndef WSPH_SPI_H
#define WSPH_SPI_H

#ifdef _WIN32

#include <winsock2.h>
#include <ws2spi.h>

/* A provider DLL exports WSPStartup; everything else goes through the tables. */
#define WSPH_PROVIDER_EXPORT __declspec(dllexport)
/* Wide literals are 16-bit on Windows already. */
#define WSPH_W(s) L##s

#else /* the POSIX mirror: Windows x64 sizes and layouts */

/*
 * Rule for users of this header: do not combine it with the C library's sockets headers
 * (<sys/socket.h>, <netinet/in.h>, <arpa/inet.h>, <sys/ioctl.h>); it defines the Winsock names
 * (struct sockaddr, AF_INET, SOL_SOCKET, FIONBIO, ...) with Winsock layouts and values. The C
 * standard headers and the other POSIX headers may come before or after it, in any mode.
 */
#include <stddef.h>
#include <stdint.h>

/*
 * The C library's names that Winsock gives other layouts. Under its default feature set (gcc's and
 * clang's gnu modes, the compilers' defaults), glibc's <stdlib.h> includes <sys/types.h>, which
 * defines u_char, u_short, u_int and u_long (u_long is 8 bytes there, 4 on Windows) and includes
 * <sys/select.h>, which defines fd_set (a bitmap of FD_SETSIZE = 1024 bits; Winsock's is a count
 * and an array of 64 SOCKETs) and the FD_* macros over that bitmap. Both headers are included
 * here first, so the C library defines its names once whatever the order of a source's includes
 * (their include guards keep them from coming back), and the Winsock names are then macros for
 * this header's own types, whose wsph_ names never clash. glibc's FD_ZERO, FD_SET, FD_CLR and
 * FD_ISSET work on its bitmap only, so they are removed: a provider asks WPUFDIsSet, or reads
 * fd_count and fd_array as Winsock's fd_set has them.
 */
#include <sys/types.h>
#include <sys/select.h>
#undef FD_SETSIZE
#undef FD_ZERO
#undef FD_SET
#undef FD_CLR
#undef FD_ISSET
#define u_char wsph_u_char
#define u_short wsph_u_short
#define u_int wsph_u_int
#define u_long wsph_u_long
#define fd_set wsph_fd_set

/*
 * The Windows x64 calling convention. On x64 Windows a by-value struct larger than 8 bytes, such
 * as the 120-byte WSPUPCALLTABLE that WSPStartup takes, travels as a pointer to a copy the caller
 * made; the System V x86-64 convention copies it onto the stack instead. With ms_abi on POSIX too,
 * the table travels as on Windows, so the harness can hand over (and later poison) its own buffer
 * (WSPH_WSPSTARTUP_BYREF below) and one provider source behaves the same on both builds.
 */
#if defined(__x86_64__)
#define WSPH_MSABI __attribute__((ms_abi))
#else
#define WSPH_MSABI
#endif
#define WSPAPI WSPH_MSABI
#define WSAAPI WSPH_MSABI
#define CALLBACK WSPH_MSABI
#define WINAPI WSPH_MSABI
#define WSPH_PROVIDER_EXPORT __attribute__((visibility("default")))
#define WSPH_W(s) u##s
#define FAR
#define VOID void

typedef uint8_t BYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef int32_t INT;
typedef uint32_t UINT;
typedef int32_t BOOL;
typedef int32_t LONG;
typedef uint32_t ULONG;
typedef char CHAR;
typedef uint16_t WCHAR;
typedef uint8_t u_char;
typedef uint16_t u_short;
typedef uint32_t u_int;
typedef uint32_t u_long;
typedef uintptr_t UINT_PTR;
typedef intptr_t INT_PTR;
typedef uintptr_t ULONG_PTR;
typedef intptr_t LONG_PTR;
typedef uintptr_t DWORD_PTR;
typedef void *PVOID;
typedef void *LPVOID;
typedef void *HANDLE;
typedef struct wsph_hwnd__ *HWND;
typedef UINT_PTR WPARAM;
typedef LONG_PTR LPARAM;
typedef UINT_PTR SOCKET;
typedef unsigned int GROUP;
typedef HANDLE WSAEVENT;
typedef INT *LPINT;
typedef DWORD *LPDWORD;
typedef DWORD *PDWORD;
typedef DWORD_PTR *PDWORD_PTR;
typedef WCHAR *LPWSTR;
typedef const WCHAR *LPCWSTR;

#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif

typedef struct _GUID {
	uint32_t Data1;
	uint16_t Data2;
	uint16_t Data3;
	uint8_t Data4[8];
} GUID, *LPGUID;

/* Sockets, addresses, sets */
#define INVALID_SOCKET ((SOCKET)~(SOCKET)0)
#define SOCKET_ERROR (-1)
#define FD_SETSIZE 64

typedef struct fd_set {
	u_int fd_count;
	SOCKET fd_array[FD_SETSIZE];
} fd_set;

typedef struct wsph_timeval {
	LONG tv_sec;
	LONG tv_usec;
} TIMEVAL, *PTIMEVAL, *LPTIMEVAL;

struct sockaddr {
	u_short sa_family;
	CHAR sa_data[14];
};
typedef struct sockaddr SOCKADDR, *PSOCKADDR, *LPSOCKADDR;

typedef struct in_addr {
	union {
		struct {
			u_char s_b1, s_b2, s_b3, s_b4;
		} S_un_b;
		struct {
			u_short s_w1, s_w2;
		} S_un_w;
		ULONG S_addr;
	} S_un;
} IN_ADDR;
#define s_addr S_un.S_addr

struct sockaddr_in {
	short sin_family;
	u_short sin_port;
	struct in_addr sin_addr;
	CHAR sin_zero[8];
};
typedef struct sockaddr_in SOCKADDR_IN;

#define AF_UNSPEC 0
#define AF_INET 2
#define AF_INET6 23
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define IPPROTO_IP 0
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define INADDR_ANY ((ULONG)0x00000000)
#define INADDR_LOOPBACK 0x7f000001

#define SOL_SOCKET 0xffff
#define SO_DEBUG 0x0001
#define SO_ACCEPTCONN 0x0002
#define SO_REUSEADDR 0x0004
#define SO_KEEPALIVE 0x0008
#define SO_DONTROUTE 0x0010
#define SO_BROADCAST 0x0020
#define SO_LINGER 0x0080
#define SO_OOBINLINE 0x0100
#define SO_SNDBUF 0x1001
#define SO_RCVBUF 0x1002
#define SO_ERROR 0x1007
#define SO_TYPE 0x1008
#define SO_PROTOCOL_INFOW 0x2005

#define MSG_OOB 0x1
#define MSG_PEEK 0x2
#define MSG_PARTIAL 0x8000

#define SD_RECEIVE 0x00
#define SD_SEND 0x01
#define SD_BOTH 0x02

#define FIONREAD 0x4004667fL
#define FIONBIO ((long)0x8004667eU)

#define WSA_FLAG_OVERLAPPED 0x01
/* WSPSocket's af, type or protocol: take it from the protocol info (winsock2.h). */
#define FROM_PROTOCOL_INFO (-1)

/* Overlapped I/O and buffers */
typedef struct _WSABUF {
	ULONG len;
	CHAR *buf;
} WSABUF, *LPWSABUF;

typedef struct _OVERLAPPED {
	ULONG_PTR Internal;
	ULONG_PTR InternalHigh;
	union {
		struct {
			DWORD Offset;
			DWORD OffsetHigh;
		};
		PVOID Pointer;
	};
	HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;
typedef OVERLAPPED WSAOVERLAPPED;
typedef OVERLAPPED *LPWSAOVERLAPPED;

typedef ULONG SERVICETYPE;
typedef struct _flowspec {
	ULONG TokenRate;
	ULONG TokenBucketSize;
	ULONG PeakBandwidth;
	ULONG Latency;
	ULONG DelayVariation;
	SERVICETYPE ServiceType;
	ULONG MaxSduSize;
	ULONG MinimumPolicedSize;
} FLOWSPEC, *LPFLOWSPEC;

typedef struct _QualityOfService {
	FLOWSPEC SendingFlowspec;
	FLOWSPEC ReceivingFlowspec;
	WSABUF ProviderSpecific;
} QOS, *LPQOS;

#define FD_READ_BIT 0
#define FD_READ (1 << FD_READ_BIT)
#define FD_WRITE_BIT 1
#define FD_WRITE (1 << FD_WRITE_BIT)
#define FD_OOB_BIT 2
#define FD_OOB (1 << FD_OOB_BIT)
#define FD_ACCEPT_BIT 3
#define FD_ACCEPT (1 << FD_ACCEPT_BIT)
#define FD_CONNECT_BIT 4
#define FD_CONNECT (1 << FD_CONNECT_BIT)
#define FD_CLOSE_BIT 5
#define FD_CLOSE (1 << FD_CLOSE_BIT)
#define FD_QOS_BIT 6
#define FD_QOS (1 << FD_QOS_BIT)
#define FD_GROUP_QOS_BIT 7
#define FD_GROUP_QOS (1 << FD_GROUP_QOS_BIT)
#define FD_ROUTING_INTERFACE_CHANGE_BIT 8
#define FD_ROUTING_INTERFACE_CHANGE (1 << FD_ROUTING_INTERFACE_CHANGE_BIT)
#define FD_ADDRESS_LIST_CHANGE_BIT 9
#define FD_ADDRESS_LIST_CHANGE (1 << FD_ADDRESS_LIST_CHANGE_BIT)
#define FD_MAX_EVENTS 10
#define FD_ALL_EVENTS ((1 << FD_MAX_EVENTS) - 1)

typedef struct _WSANETWORKEVENTS {
	LONG lNetworkEvents;
	int iErrorCode[FD_MAX_EVENTS];
} WSANETWORKEVENTS, *LPWSANETWORKEVENTS;

#define MAKELONG(a, b) ((LONG)(((WORD)((DWORD_PTR)(a) & 0xffff)) | ((DWORD)((WORD)((DWORD_PTR)(b) & 0xffff))) << 16))
#define WSAMAKESELECTREPLY(event, error) MAKELONG(event, error)
#define WSAGETSELECTEVENT(lParam) ((WORD)((DWORD_PTR)(lParam) & 0xffff))
#define WSAGETSELECTERROR(lParam) ((WORD)(((DWORD_PTR)(lParam) >> 16) & 0xffff))

/* Protocol information */
#define MAX_PROTOCOL_CHAIN 7
#define BASE_PROTOCOL 1
#define LAYERED_PROTOCOL 0
#define WSAPROTOCOL_LEN 255

typedef struct _WSAPROTOCOLCHAIN {
	int ChainLen;
	DWORD ChainEntries[MAX_PROTOCOL_CHAIN];
} WSAPROTOCOLCHAIN, *LPWSAPROTOCOLCHAIN;

typedef struct _WSAPROTOCOL_INFOW {
	DWORD dwServiceFlags1;
	DWORD dwServiceFlags2;
	DWORD dwServiceFlags3;
	DWORD dwServiceFlags4;
	DWORD dwProviderFlags;
	GUID ProviderId;
	DWORD dwCatalogEntryId;
	WSAPROTOCOLCHAIN ProtocolChain;
	int iVersion;
	int iAddressFamily;
	int iMaxSockAddr;
	int iMinSockAddr;
	int iSocketType;
	int iProtocol;
	int iProtocolMaxOffset;
	int iNetworkByteOrder;
	int iSecurityScheme;
	DWORD dwMessageSize;
	DWORD dwProviderReserved;
	WCHAR szProtocol[WSAPROTOCOL_LEN + 1];
} WSAPROTOCOL_INFOW, *LPWSAPROTOCOL_INFOW;

#define XP1_CONNECTIONLESS 0x00000001
#define XP1_GUARANTEED_DELIVERY 0x00000002
#define XP1_GUARANTEED_ORDER 0x00000004
#define XP1_MESSAGE_ORIENTED 0x00000008
#define XP1_PSEUDO_STREAM 0x00000010
#define XP1_GRACEFUL_CLOSE 0x00000020
#define XP1_EXPEDITED_DATA 0x00000040
#define XP1_CONNECT_DATA 0x00000080
#define XP1_DISCONNECT_DATA 0x00000100
#define XP1_SUPPORT_BROADCAST 0x00000200
#define XP1_SUPPORT_MULTIPOINT 0x00000400
#define XP1_MULTIPOINT_CONTROL_PLANE 0x00000800
#define XP1_MULTIPOINT_DATA_PLANE 0x00001000
#define XP1_QOS_SUPPORTED 0x00002000
#define XP1_INTERRUPT 0x00004000
#define XP1_UNI_SEND 0x00008000
#define XP1_UNI_RECV 0x00010000
#define XP1_IFS_HANDLES 0x00020000
#define XP1_PARTIAL_MESSAGE 0x00040000
#define XP1_SAN_SUPPORT_SDP 0x00080000

#define PFL_MULTIPLE_PROTO_ENTRIES 0x00000001
#define PFL_RECOMMENDED_PROTO_ENTRY 0x00000002
#define PFL_HIDDEN 0x00000004
#define PFL_MATCHES_PROTOCOL_ZERO 0x00000008

/* Error codes (winerror.h values) */
#define WSA_INVALID_HANDLE 6
#define WSA_NOT_ENOUGH_MEMORY 8
#define WSA_INVALID_PARAMETER 87
#define WSA_OPERATION_ABORTED 995
#define WSA_IO_INCOMPLETE 996
#define WSA_IO_PENDING 997
#define WSA_INVALID_EVENT ((WSAEVENT)NULL)
#define ERROR_INVALID_HANDLE 6
#define WSABASEERR 10000
#define WSAEINTR 10004
#define WSAEBADF 10009
#define WSAEACCES 10013
#define WSAEFAULT 10014
#define WSAEINVAL 10022
#define WSAEMFILE 10024
#define WSAEWOULDBLOCK 10035
#define WSAEINPROGRESS 10036
#define WSAEALREADY 10037
#define WSAENOTSOCK 10038
#define WSAEDESTADDRREQ 10039
#define WSAEMSGSIZE 10040
#define WSAEPROTOTYPE 10041
#define WSAENOPROTOOPT 10042
#define WSAEPROTONOSUPPORT 10043
#define WSAESOCKTNOSUPPORT 10044
#define WSAEOPNOTSUPP 10045
#define WSAEPFNOSUPPORT 10046
#define WSAEAFNOSUPPORT 10047
#define WSAEADDRINUSE 10048
#define WSAEADDRNOTAVAIL 10049
#define WSAENETDOWN 10050
#define WSAENETUNREACH 10051
#define WSAENETRESET 10052
#define WSAECONNABORTED 10053
#define WSAECONNRESET 10054
#define WSAENOBUFS 10055
#define WSAEISCONN 10056
#define WSAENOTCONN 10057
#define WSAESHUTDOWN 10058
#define WSAETOOMANYREFS 10059
#define WSAETIMEDOUT 10060
#define WSAECONNREFUSED 10061
#define WSAELOOP 10062
#define WSAENAMETOOLONG 10063
#define WSAEHOSTDOWN 10064
#define WSAEHOSTUNREACH 10065
#define WSAENOTEMPTY 10066
#define WSAEPROCLIM 10067
#define WSAEUSERS 10068
#define WSAEDQUOT 10069
#define WSAESTALE 10070
#define WSAEREMOTE 10071
#define WSASYSNOTREADY 10091
#define WSAVERNOTSUPPORTED 10092
#define WSANOTINITIALISED 10093
#define WSAEDISCON 10101
#define WSAENOMORE 10102
#define WSAECANCELLED 10103
#define WSAEINVALIDPROCTABLE 10104
#define WSAEINVALIDPROVIDER 10105
#define WSAEPROVIDERFAILEDINIT 10106
#define WSASYSCALLFAILURE 10107
#define WSASERVICE_NOT_FOUND 10108
#define WSATYPE_NOT_FOUND 10109
#define WSA_E_NO_MORE 10110
#define WSA_E_CANCELLED 10111
#define WSAEREFUSED 10112

/* ws2spi.h proper */
#define WSPDESCRIPTION_LEN 255
#define WSS_OPERATION_IN_PROGRESS 0x00000103L

typedef struct WSPData {
	WORD wVersion;
	WORD wHighVersion;
	WCHAR szDescription[WSPDESCRIPTION_LEN + 1];
} WSPDATA, *LPWSPDATA;

typedef struct _WSATHREADID {
	HANDLE ThreadHandle;
	DWORD_PTR Reserved;
} WSATHREADID, *LPWSATHREADID;

typedef int(CALLBACK *LPCONDITIONPROC)(LPWSABUF lpCallerId, LPWSABUF lpCallerData, LPQOS lpSQOS,
				       LPQOS lpGQOS, LPWSABUF lpCalleeId, LPWSABUF lpCalleeData,
				       GROUP *g, DWORD_PTR dwCallbackData);
typedef void(CALLBACK *LPWSAOVERLAPPED_COMPLETION_ROUTINE)(DWORD dwError, DWORD cbTransferred,
							   LPWSAOVERLAPPED lpOverlapped,
							   DWORD dwFlags);
typedef BOOL(CALLBACK *LPBLOCKINGCALLBACK)(DWORD_PTR dwContext);
typedef void(CALLBACK *LPWSAUSERAPC)(DWORD_PTR dwContext);

/* The 30 entry points, in WSPPROC_TABLE order */
typedef SOCKET(WSPAPI *LPWSPACCEPT)(SOCKET s, struct sockaddr *addr, LPINT addrlen,
				    LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
				    LPINT lpErrno);
typedef INT(WSPAPI *LPWSPADDRESSTOSTRING)(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
					  LPWSAPROTOCOL_INFOW lpProtocolInfo,
					  LPWSTR lpszAddressString,
					  LPDWORD lpdwAddressStringLength, LPINT lpErrno);
typedef int(WSPAPI *LPWSPASYNCSELECT)(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent,
				      LPINT lpErrno);
typedef int(WSPAPI *LPWSPBIND)(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno);
typedef int(WSPAPI *LPWSPCANCELBLOCKINGCALL)(LPINT lpErrno);
typedef int(WSPAPI *LPWSPCLEANUP)(LPINT lpErrno);
typedef int(WSPAPI *LPWSPCLOSESOCKET)(SOCKET s, LPINT lpErrno);
typedef int(WSPAPI *LPWSPCONNECT)(SOCKET s, const struct sockaddr *name, int namelen,
				  LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
				  LPQOS lpGQOS, LPINT lpErrno);
typedef int(WSPAPI *LPWSPDUPLICATESOCKET)(SOCKET s, DWORD dwProcessId,
					  LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno);
typedef int(WSPAPI *LPWSPENUMNETWORKEVENTS)(SOCKET s, WSAEVENT hEventObject,
					    LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno);
typedef int(WSPAPI *LPWSPEVENTSELECT)(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
				      LPINT lpErrno);
typedef BOOL(WSPAPI *LPWSPGETOVERLAPPEDRESULT)(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
					       LPDWORD lpcbTransfer, BOOL fWait,
					       LPDWORD lpdwFlags, LPINT lpErrno);
typedef int(WSPAPI *LPWSPGETPEERNAME)(SOCKET s, struct sockaddr *name, LPINT namelen,
				      LPINT lpErrno);
typedef int(WSPAPI *LPWSPGETSOCKNAME)(SOCKET s, struct sockaddr *name, LPINT namelen,
				      LPINT lpErrno);
typedef int(WSPAPI *LPWSPGETSOCKOPT)(SOCKET s, int level, int optname, char *optval,
				     LPINT optlen, LPINT lpErrno);
typedef BOOL(WSPAPI *LPWSPGETQOSBYNAME)(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS,
					LPINT lpErrno);
typedef int(WSPAPI *LPWSPIOCTL)(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer,
				DWORD cbInBuffer, LPVOID lpvOutBuffer, DWORD cbOutBuffer,
				LPDWORD lpcbBytesReturned, LPWSAOVERLAPPED lpOverlapped,
				LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
				LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef SOCKET(WSPAPI *LPWSPJOINLEAF)(SOCKET s, const struct sockaddr *name, int namelen,
				      LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
				      LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno);
typedef int(WSPAPI *LPWSPLISTEN)(SOCKET s, int backlog, LPINT lpErrno);
typedef int(WSPAPI *LPWSPRECV)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
			       LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
			       LPWSAOVERLAPPED lpOverlapped,
			       LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
			       LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWSPRECVDISCONNECT)(SOCKET s, LPWSABUF lpInboundDisconnectData,
					 LPINT lpErrno);
typedef int(WSPAPI *LPWSPRECVFROM)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
				   LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
				   struct sockaddr *lpFrom, LPINT lpFromlen,
				   LPWSAOVERLAPPED lpOverlapped,
				   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
				   LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSELECT)(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
				 const PTIMEVAL timeout, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSEND)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
			       LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
			       LPWSAOVERLAPPED lpOverlapped,
			       LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
			       LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSENDDISCONNECT)(SOCKET s, LPWSABUF lpOutboundDisconnectData,
					 LPINT lpErrno);
typedef int(WSPAPI *LPWSPSENDTO)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
				 LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
				 const struct sockaddr *lpTo, int iTolen,
				 LPWSAOVERLAPPED lpOverlapped,
				 LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
				 LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSETSOCKOPT)(SOCKET s, int level, int optname, const char *optval,
				     int optlen, LPINT lpErrno);
typedef int(WSPAPI *LPWSPSHUTDOWN)(SOCKET s, int how, LPINT lpErrno);
typedef SOCKET(WSPAPI *LPWSPSOCKET)(int af, int type, int protocol,
				    LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g, DWORD dwFlags,
				    LPINT lpErrno);
typedef INT(WSPAPI *LPWSPSTRINGTOADDRESS)(LPWSTR AddressString, INT AddressFamily,
					  LPWSAPROTOCOL_INFOW lpProtocolInfo,
					  LPSOCKADDR lpAddress, LPINT lpAddressLength,
					  LPINT lpErrno);

typedef struct _WSPPROC_TABLE {
	LPWSPACCEPT lpWSPAccept;
	LPWSPADDRESSTOSTRING lpWSPAddressToString;
	LPWSPASYNCSELECT lpWSPAsyncSelect;
	LPWSPBIND lpWSPBind;
	LPWSPCANCELBLOCKINGCALL lpWSPCancelBlockingCall;
	LPWSPCLEANUP lpWSPCleanup;
	LPWSPCLOSESOCKET lpWSPCloseSocket;
	LPWSPCONNECT lpWSPConnect;
	LPWSPDUPLICATESOCKET lpWSPDuplicateSocket;
	LPWSPENUMNETWORKEVENTS lpWSPEnumNetworkEvents;
	LPWSPEVENTSELECT lpWSPEventSelect;
	LPWSPGETOVERLAPPEDRESULT lpWSPGetOverlappedResult;
	LPWSPGETPEERNAME lpWSPGetPeerName;
	LPWSPGETSOCKNAME lpWSPGetSockName;
	LPWSPGETSOCKOPT lpWSPGetSockOpt;
	LPWSPGETQOSBYNAME lpWSPGetQOSByName;
	LPWSPIOCTL lpWSPIoctl;
	LPWSPJOINLEAF lpWSPJoinLeaf;
	LPWSPLISTEN lpWSPListen;
	LPWSPRECV lpWSPRecv;
	LPWSPRECVDISCONNECT lpWSPRecvDisconnect;
	LPWSPRECVFROM lpWSPRecvFrom;
	LPWSPSELECT lpWSPSelect;
	LPWSPSEND lpWSPSend;
	LPWSPSENDDISCONNECT lpWSPSendDisconnect;
	LPWSPSENDTO lpWSPSendTo;
	LPWSPSETSOCKOPT lpWSPSetSockOpt;
	LPWSPSHUTDOWN lpWSPShutdown;
	LPWSPSOCKET lpWSPSocket;
	LPWSPSTRINGTOADDRESS lpWSPStringToAddress;
} WSPPROC_TABLE, *LPWSPPROC_TABLE;

/* The 15 upcalls, in WSPUPCALLTABLE order */
typedef BOOL(WSPAPI *LPWPUCLOSEEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef int(WSPAPI *LPWPUCLOSESOCKETHANDLE)(SOCKET s, LPINT lpErrno);
typedef WSAEVENT(WSPAPI *LPWPUCREATEEVENT)(LPINT lpErrno);
typedef SOCKET(WSPAPI *LPWPUCREATESOCKETHANDLE)(DWORD dwCatalogEntryId, DWORD_PTR dwContext,
						LPINT lpErrno);
typedef int(WSPAPI *LPWPUFDISSET)(SOCKET s, fd_set *fdset);
typedef int(WSPAPI *LPWPUGETPROVIDERPATH)(LPGUID lpProviderId, WCHAR *lpszProviderDllPath,
					  LPINT lpProviderDllPathLen, LPINT lpErrno);
typedef SOCKET(WSPAPI *LPWPUMODIFYIFSHANDLE)(DWORD dwCatalogEntryId, SOCKET ProposedHandle,
					     LPINT lpErrno);
typedef BOOL(WSPAPI *LPWPUPOSTMESSAGE)(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam);
typedef int(WSPAPI *LPWPUQUERYBLOCKINGCALLBACK)(DWORD dwCatalogEntryId,
						LPBLOCKINGCALLBACK *lplpfnCallback,
						PDWORD_PTR lpdwContext, LPINT lpErrno);
typedef int(WSPAPI *LPWPUQUERYSOCKETHANDLECONTEXT)(SOCKET s, PDWORD_PTR lpContext,
						   LPINT lpErrno);
typedef int(WSPAPI *LPWPUQUEUEAPC)(LPWSATHREADID lpThreadId, LPWSAUSERAPC lpfnUserApc,
				   DWORD_PTR dwContext, LPINT lpErrno);
typedef BOOL(WSPAPI *LPWPURESETEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef BOOL(WSPAPI *LPWPUSETEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef int(WSPAPI *LPWPUOPENCURRENTTHREAD)(LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWPUCLOSETHREAD)(LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int(WSPAPI *LPWPUCOMPLETEOVERLAPPEDREQUEST)(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
						    DWORD dwError, DWORD cbTransferred,
						    LPINT lpErrno);

typedef struct _WSPUPCALLTABLE {
	LPWPUCLOSEEVENT lpWPUCloseEvent;
	LPWPUCLOSESOCKETHANDLE lpWPUCloseSocketHandle;
	LPWPUCREATEEVENT lpWPUCreateEvent;
	LPWPUCREATESOCKETHANDLE lpWPUCreateSocketHandle;
	LPWPUFDISSET lpWPUFDIsSet;
	LPWPUGETPROVIDERPATH lpWPUGetProviderPath;
	LPWPUMODIFYIFSHANDLE lpWPUModifyIFSHandle;
	LPWPUPOSTMESSAGE lpWPUPostMessage;
	LPWPUQUERYBLOCKINGCALLBACK lpWPUQueryBlockingCallback;
	LPWPUQUERYSOCKETHANDLECONTEXT lpWPUQuerySocketHandleContext;
	LPWPUQUEUEAPC lpWPUQueueApc;
	LPWPURESETEVENT lpWPUResetEvent;
	LPWPUSETEVENT lpWPUSetEvent;
	LPWPUOPENCURRENTTHREAD lpWPUOpenCurrentThread;
	LPWPUCLOSETHREAD lpWPUCloseThread;
} WSPUPCALLTABLE, *LPWSPUPCALLTABLE;

typedef int(WSPAPI *LPWSPSTARTUP)(WORD wVersionRequested, LPWSPDATA lpWSPData,
				  LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
				  LPWSPPROC_TABLE lpProcTable);

/* A provider's one export, declared as <ws2spi.h> declares it on Windows. Its definition must say
 * WSPAPI (the Windows x64 convention above): under gcc one without it is a compile error
 * ("conflicting types for 'WSPStartup'"), where it would otherwise build and read every argument
 * from the wrong place; clang gives such a definition the declared convention. */
WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
					   LPWSAPROTOCOL_INFOW lpProtocolInfo,
					   WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable);

/* On Windows these are ws2_32/kernel32/user32 exports; on POSIX the harness program exports them
 * (backed by its fake catalog and its module loader) and provider .so files bind to them, so one
 * provider source serves both builds. */
int WSPAPI WPUCompleteOverlappedRequest(SOCKET s, LPWSAOVERLAPPED lpOverlapped, DWORD dwError,
					DWORD cbTransferred, LPINT lpErrno);
int WSPAPI WSCEnumProtocols(LPINT lpiProtocols, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
			    LPDWORD lpdwBufferLength, LPINT lpErrno);
int WSPAPI WSCEnumProtocols32(LPINT lpiProtocols, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
			      LPDWORD lpdwBufferLength, LPINT lpErrno);
int WSPAPI WSCGetProviderPath(LPGUID lpProviderId, WCHAR *lpszProviderDllPath,
			      LPINT lpProviderDllPathLen, LPINT lpErrno);

typedef struct wsph_hmodule__ *HMODULE, *HINSTANCE;
typedef INT_PTR(WINAPI *FARPROC)(void);
HMODULE WINAPI LoadLibraryA(const char *lpLibFileName);
HMODULE WINAPI LoadLibraryW(LPCWSTR lpLibFileName);
HMODULE WINAPI LoadLibraryExA(const char *lpLibFileName, HANDLE hFile, DWORD dwFlags);
HMODULE WINAPI LoadLibraryExW(LPCWSTR lpLibFileName, HANDLE hFile, DWORD dwFlags);
FARPROC WINAPI GetProcAddress(HMODULE hModule, const char *lpProcName);
BOOL WINAPI FreeLibrary(HMODULE hLibModule);
DWORD WINAPI ExpandEnvironmentStringsW(LPCWSTR lpSrc, LPWSTR lpDst, DWORD nSize);
BOOL WINAPI PostMessageA(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam);
BOOL WINAPI PostMessageW(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam);
#define MAX_PATH 260

#define MAKEWORD(lo, hi) ((WORD)(((BYTE)((lo) & 0xff)) | ((WORD)((BYTE)((hi) & 0xff))) << 8))
#define LOBYTE(w) ((BYTE)((w) & 0xff))
#define HIBYTE(w) ((BYTE)(((w) >> 8) & 0xff))

#endif /* _WIN32 */

/* Both builds: the calling convention the harness uses for WSPStartup. On x64 the by-value table
 * is passed as a pointer to a caller-made buffer, so this type is ABI-identical to LPWSPSTARTUP
 * and lets the harness hand over (and later poison) its own buffer. */
typedef int(WSPAPI *WSPH_WSPSTARTUP_BYREF)(WORD wVersionRequested, LPWSPDATA lpWSPData,
					   LPWSAPROTOCOL_INFOW lpProtocolInfo,
					   WSPUPCALLTABLE *lpUpcallTable,
					   LPWSPPROC_TABLE lpProcTable);

#endif /* WSPH_SPI_H */
