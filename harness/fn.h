/* The functions wspharness knows by name: the WSP entry points it calls and the upcalls it serves. */
#ifndef WSPH_FN_H
#define WSPH_FN_H

/* X(enum-suffix, printed name). WSP entries follow WSPPROC_TABLE order after WSPStartup. */
#define WSPH_WSP_FUNCTIONS(X)                                                                     \
	X(WSPSTARTUP, "WSPStartup")                                                               \
	X(WSPACCEPT, "WSPAccept")                                                                 \
	X(WSPADDRESSTOSTRING, "WSPAddressToString")                                               \
	X(WSPASYNCSELECT, "WSPAsyncSelect")                                                       \
	X(WSPBIND, "WSPBind")                                                                     \
	X(WSPCANCELBLOCKINGCALL, "WSPCancelBlockingCall")                                         \
	X(WSPCLEANUP, "WSPCleanup")                                                               \
	X(WSPCLOSESOCKET, "WSPCloseSocket")                                                       \
	X(WSPCONNECT, "WSPConnect")                                                               \
	X(WSPDUPLICATESOCKET, "WSPDuplicateSocket")                                               \
	X(WSPENUMNETWORKEVENTS, "WSPEnumNetworkEvents")                                           \
	X(WSPEVENTSELECT, "WSPEventSelect")                                                       \
	X(WSPGETOVERLAPPEDRESULT, "WSPGetOverlappedResult")                                       \
	X(WSPGETPEERNAME, "WSPGetPeerName")                                                       \
	X(WSPGETSOCKNAME, "WSPGetSockName")                                                       \
	X(WSPGETSOCKOPT, "WSPGetSockOpt")                                                         \
	X(WSPGETQOSBYNAME, "WSPGetQOSByName")                                                     \
	X(WSPIOCTL, "WSPIoctl")                                                                   \
	X(WSPJOINLEAF, "WSPJoinLeaf")                                                             \
	X(WSPLISTEN, "WSPListen")                                                                 \
	X(WSPRECV, "WSPRecv")                                                                     \
	X(WSPRECVDISCONNECT, "WSPRecvDisconnect")                                                 \
	X(WSPRECVFROM, "WSPRecvFrom")                                                             \
	X(WSPSELECT, "WSPSelect")                                                                 \
	X(WSPSEND, "WSPSend")                                                                     \
	X(WSPSENDDISCONNECT, "WSPSendDisconnect")                                                 \
	X(WSPSENDTO, "WSPSendTo")                                                                 \
	X(WSPSETSOCKOPT, "WSPSetSockOpt")                                                         \
	X(WSPSHUTDOWN, "WSPShutdown")                                                             \
	X(WSPSOCKET, "WSPSocket")                                                                 \
	X(WSPSTRINGTOADDRESS, "WSPStringToAddress")

/* WPU entries follow WSPUPCALLTABLE order, then the ws2_32 export. */
#define WSPH_WPU_FUNCTIONS(X)                                                                     \
	X(WPUCLOSEEVENT, "WPUCloseEvent")                                                         \
	X(WPUCLOSESOCKETHANDLE, "WPUCloseSocketHandle")                                           \
	X(WPUCREATEEVENT, "WPUCreateEvent")                                                       \
	X(WPUCREATESOCKETHANDLE, "WPUCreateSocketHandle")                                         \
	X(WPUFDISSET, "WPUFDIsSet")                                                               \
	X(WPUGETPROVIDERPATH, "WPUGetProviderPath")                                               \
	X(WPUMODIFYIFSHANDLE, "WPUModifyIFSHandle")                                               \
	X(WPUPOSTMESSAGE, "WPUPostMessage")                                                       \
	X(WPUQUERYBLOCKINGCALLBACK, "WPUQueryBlockingCallback")                                   \
	X(WPUQUERYSOCKETHANDLECONTEXT, "WPUQuerySocketHandleContext")                             \
	X(WPUQUEUEAPC, "WPUQueueApc")                                                             \
	X(WPURESETEVENT, "WPUResetEvent")                                                         \
	X(WPUSETEVENT, "WPUSetEvent")                                                             \
	X(WPUOPENCURRENTTHREAD, "WPUOpenCurrentThread")                                           \
	X(WPUCLOSETHREAD, "WPUCloseThread")                                                       \
	X(WPUCOMPLETEOVERLAPPEDREQUEST, "WPUCompleteOverlappedRequest")

/* Functions a provider imports instead of reaching them through the upcall table: the harness
 * interposes them (IAT patching on Windows, exports on POSIX) and records every call. */
#define WSPH_IMPORT_FUNCTIONS(X)                                                                  \
	X(WSCENUMPROTOCOLS, "WSCEnumProtocols")                                                   \
	X(WSCENUMPROTOCOLS32, "WSCEnumProtocols32")                                               \
	X(WSCGETPROVIDERPATH, "WSCGetProviderPath")                                               \
	X(LOADLIBRARYA, "LoadLibraryA")                                                           \
	X(LOADLIBRARYW, "LoadLibraryW")                                                           \
	X(LOADLIBRARYEXA, "LoadLibraryExA")                                                       \
	X(LOADLIBRARYEXW, "LoadLibraryExW")                                                       \
	X(GETPROCADDRESS, "GetProcAddress")                                                       \
	X(FREELIBRARY, "FreeLibrary")                                                             \
	X(POSTMESSAGEA, "PostMessageA")                                                           \
	X(POSTMESSAGEW, "PostMessageW")                                                           \
	X(EXPANDENVIRONMENTSTRINGSA, "ExpandEnvironmentStringsA")                                 \
	X(EXPANDENVIRONMENTSTRINGSW, "ExpandEnvironmentStringsW")

enum wsph_fn {
#define WSPH_FN_ENUM(id, name) WSPH_FN_##id,
	WSPH_WSP_FUNCTIONS(WSPH_FN_ENUM) WSPH_WPU_FUNCTIONS(WSPH_FN_ENUM)
		WSPH_IMPORT_FUNCTIONS(WSPH_FN_ENUM)
#undef WSPH_FN_ENUM
	WSPH_FN_COUNT
};

#define WSPH_FN_FIRST_WPU WSPH_FN_WPUCLOSEEVENT
#define WSPH_FN_FIRST_IMPORT WSPH_FN_WSCENUMPROTOCOLS

/* "WSPSocket", "WPUCreateSocketHandle", ... */
const char *wsph_fn_name(enum wsph_fn fn);
/* Case-sensitive lookup by printed name; returns -1 when unknown. */
int wsph_fn_by_name(const char *name);
/* An upcall or an interposed import: something the provider calls and the harness serves. */
int wsph_fn_is_upcall(enum wsph_fn fn);
/* One of the 16 WPU functions (the table's 15 and WPUCompleteOverlappedRequest). */
int wsph_fn_is_wpu(enum wsph_fn fn);
/* A WSP function whose first argument is the client's SOCKET (all but WSPStartup, WSPCleanup,
 * WSPSocket, WSPSelect, WSPCancelBlockingCall and the two address conversions). */
int wsph_fn_takes_socket(enum wsph_fn fn);

/* WSA error codes by name: "WSAENOTSOCK (10038)". Unknown codes print as the bare number. */
const char *wsph_error_name(int code); /* NULL when unknown */
int wsph_error_by_name(const char *name, int *code_out); /* 0 ok, -1 unknown */
/* Writes "WSAENOTSOCK (10038)" into buf and returns buf. */
char *wsph_error_format(int code, char *buf, unsigned long len);

#endif
