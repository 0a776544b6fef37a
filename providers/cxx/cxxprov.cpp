// A base provider written the way C++ providers are: a static object whose constructor starts the
// provider's service thread when the module is loaded, the standard containers, exceptions kept
// inside, RAII. It behaves well: the thread ends with the final WSPCleanup (and starts again with
// the next WSPStartup), every handle is released. The harness must run it clean: its load runs only
// in child processes, and nothing about the thread or the C++ runtime is charged to it. Only
// WSPSocket, WSPCloseSocket and WSPCleanup are its own; every other entry is one stub that fails
// without an error code (it cannot know where each call keeps its lpErrno), which is its one
// defect: `wspharness explore` charges SPI.Errno.OnFailure to each of them, and its test runs only
// the scenarios that use its own three entries.
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#ifdef _WIN32
extern "C" {
#include "wsph/spi.h"
}
#include <windows.h>
#else
#include <pthread.h>
// The portable header defines the Winsock names (u_long, fd_set, ...) with Winsock layouts, which
// clash with the C library's in the global namespace that the C++ headers fill: a namespace of
// their own.
#undef FD_SETSIZE /* the C library's; the header defines Winsock's */
namespace spi {
extern "C" {
#include "wsph/spi.h"
}
} // namespace spi
using namespace spi;
#endif

namespace {

// The service thread: it waits for work until it is stopped (this provider gives it none; real
// ones queue completions to it).
class Service {
public:
	Service() { start(); }
	~Service() { stop(can_join_when_unloaded); }
	Service(const Service &) = delete;
	Service &operator=(const Service &) = delete;

	void start();
	// Ends the thread; with join, waits until it has ended.
	void stop(bool join);

private:
#ifdef _WIN32
	// The destructor runs in DLL_PROCESS_DETACH, under the loader lock, where waiting for a
	// thread deadlocks: there it is only told to stop. The final WSPCleanup is where it ends.
	static constexpr bool can_join_when_unloaded = false;
#else
	static constexpr bool can_join_when_unloaded = true;
#endif
	bool running_ = false;
#ifdef _WIN32
	HANDLE thread_ = nullptr, stop_ = nullptr;
	static DWORD WINAPI run(LPVOID self)
	{
		WaitForSingleObject(static_cast<Service *>(self)->stop_, INFINITE);
		return 0;
	}
#else
	pthread_t thread_{};
	pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond_ = PTHREAD_COND_INITIALIZER;
	bool stopping_ = false;
	static void *run(void *p)
	{
		Service *self = static_cast<Service *>(p);
		pthread_mutex_lock(&self->lock_);
		while (!self->stopping_)
			pthread_cond_wait(&self->cond_, &self->lock_);
		pthread_mutex_unlock(&self->lock_);
		return nullptr;
	}
#endif
};

#ifdef _WIN32
void Service::start()
{
	if (running_)
		return;
	stop_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
	thread_ = stop_ ? CreateThread(nullptr, 0, run, this, 0, nullptr) : nullptr;
	running_ = thread_ != nullptr;
}

void Service::stop(bool join)
{
	if (!running_)
		return;
	SetEvent(stop_);
	running_ = false;
	if (!join)
		return;
	WaitForSingleObject(thread_, INFINITE);
	CloseHandle(thread_);
	CloseHandle(stop_);
	thread_ = stop_ = nullptr;
}
#else
void Service::start()
{
	if (running_)
		return;
	pthread_mutex_lock(&lock_);
	stopping_ = false;
	pthread_mutex_unlock(&lock_);
	running_ = pthread_create(&thread_, nullptr, run, this) == 0;
}

void Service::stop(bool join)
{
	(void)join; /* a pthread is always joined: nothing holds a lock it needs */
	if (!running_)
		return;
	pthread_mutex_lock(&lock_);
	stopping_ = true;
	pthread_cond_signal(&cond_);
	pthread_mutex_unlock(&lock_);
	pthread_join(thread_, nullptr);
	running_ = false;
}
#endif

Service service; // started when the module is loaded

struct Provider {
	WSPUPCALLTABLE up{};
	DWORD catalog_id = 0;
	int startups = 0;
	std::map<SOCKET, std::string> sockets; // handle -> what it is, for the provider's own logs
};

Provider provider;

std::string describe(int af, int type)
{
	if (af != 2 && af != 23)
		throw std::invalid_argument("address family " + std::to_string(af));
	return std::string(af == 2 ? "inet" : "inet6") + (type == 1 ? "/stream" : "/dgram");
}

int WSPAPI fail1(LPINT e)
{
	(void)e;
	return SOCKET_ERROR;
}

SOCKET WSPAPI cxx_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW pi, GROUP g,
			 DWORD flags, LPINT err)
{
	(void)protocol;
	(void)g;
	(void)flags;
	std::string what;
	try {
		what = describe(af, type);
	} catch (const std::invalid_argument &) {
		*err = WSAEAFNOSUPPORT;
		return INVALID_SOCKET;
	}
	DWORD id = pi ? pi->dwCatalogEntryId : provider.catalog_id;
	SOCKET s = provider.up.lpWPUCreateSocketHandle(id, (DWORD_PTR)0x1234, err);
	if (s != INVALID_SOCKET)
		provider.sockets[s] = what;
	return s;
}

int WSPAPI cxx_close(SOCKET s, LPINT err)
{
	auto it = provider.sockets.find(s);
	if (it == provider.sockets.end()) {
		*err = WSAENOTSOCK;
		return SOCKET_ERROR;
	}
	provider.sockets.erase(it);
	return provider.up.lpWPUCloseSocketHandle(s, err);
}

int WSPAPI cxx_cleanup(LPINT err)
{
	if (provider.startups <= 0) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	if (--provider.startups > 0)
		return 0;
	// the final one: what the client left open goes back too
	for (const auto &entry : provider.sockets) {
		int e = 0;
		provider.up.lpWPUCloseSocketHandle(entry.first, &e);
	}
	provider.sockets.clear();
	service.stop(true); // outside the loader lock: the thread ends here
	return 0;
}

} // namespace

#ifdef _WIN32
extern "C" BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}
#endif

extern "C" WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD v, LPWSPDATA data,
						     LPWSAPROTOCOL_INFOW pi, WSPUPCALLTABLE table,
						     LPWSPPROC_TABLE procs)
{
	if (!data || !procs)
		return WSAEFAULT;
	if ((v & 0xff) < 2)
		return WSAVERNOTSUPPORTED;
	provider.up = table;
	provider.catalog_id = pi ? pi->dwCatalogEntryId : 0;
	if (provider.startups++ == 0)
		service.start();
	// the lower of 2.2 and the version asked for: major in the low byte, then minor
	WORD asked = (WORD)((v & 0xff) << 8 | v >> 8), high = 0x0202;
	data->wVersion = asked < high ? v : 0x0202;
	data->wHighVersion = 0x0202;
	std::memset(data->szDescription, 0, sizeof data->szDescription);
	data->szDescription[0] = 'c';
	// Every entry first fails cleanly; then the ones this provider implements.
	void *stub;
	int(WSPAPI * f)(LPINT) = fail1;
	std::memcpy(&stub, &f, sizeof stub);
	void *entries[30];
	for (auto &e : entries)
		e = stub;
	std::memcpy(procs, entries, sizeof entries);
	procs->lpWSPSocket = cxx_socket;
	procs->lpWSPCloseSocket = cxx_close;
	procs->lpWSPCleanup = cxx_cleanup;
	return 0;
}
