#include "ctl_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "event_loop.hpp"
#include "shell.hpp"

namespace eamclat {

namespace {
constexpr size_t max_line = 4096;
constexpr size_t max_clients = 32;

bool make_addr(const std::string &path, sockaddr_un &a, std::string &err) {
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) {
        err = "control socket path too long: " + path;
        return false;
    }
    memcpy(a.sun_path, path.c_str(), path.size());
    return true;
}

bool write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= size_t(w);
    }
    return true;
}
}  // namespace

CtlServer::~CtlServer() {
    for (auto &[fd, buf] : clients_) {
        loop_.remove_fd(fd);
        close(fd);
    }
    if (fd_ >= 0) {
        loop_.remove_fd(fd_);
        close(fd_);
        unlink(path_.c_str());
    }
}

bool CtlServer::start(const std::string &path, std::string &err) {
    sockaddr_un a;
    if (!make_addr(path, a, err)) return false;
    // The directory may not exist yet (/run/eamclat on a fresh boot).
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) mkdir(path.substr(0, slash).c_str(), 0750);
    unlink(path.c_str());  // a stale socket from a previous run
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || listen(fd_, 8) != 0) {
        err = "control socket " + path + ": " + strerror(errno);
        return false;
    }
    chmod(path.c_str(), 0660);  // root and the eamclat group only: it can change the tables
    path_ = path;
    loop_.add_fd(fd_, EPOLLIN, [this](uint32_t) { accept_client(); });
    return true;
}

void CtlServer::accept_client() {
    for (;;) {
        int c = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) return;
        if (clients_.size() >= max_clients) {
            close(c);
            continue;
        }
        clients_[c] = {};
        loop_.add_fd(c, EPOLLIN, [this, c](uint32_t) { read_client(c); });
    }
}

void CtlServer::drop(int fd) {
    loop_.remove_fd(fd);
    close(fd);
    clients_.erase(fd);
}

void CtlServer::read_client(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            drop(fd);
            return;
        }
        if (n < 0) break;
        it->second.append(buf, size_t(n));
        if (it->second.size() > 64 * max_line) {  // a client that never sends a newline
            drop(fd);
            return;
        }
    }
    size_t nl;
    while ((nl = it->second.find('\n')) != std::string::npos) {
        std::string line = it->second.substr(0, nl);
        it->second.erase(0, nl + 1);
        CommandResult r;
        if (line.size() > max_line) r = {false, "line too long"};
        else r = shell_.execute(line);
        std::string reply(1, r.ok ? '0' : '1');
        reply += r.output;
        reply.push_back('\0');
        // The reply is written synchronously: outputs are small and the client reads at once; a
        // client that stops reading is dropped rather than allowed to stall the control thread.
        if (!write_all(fd, reply.data(), reply.size())) {
            drop(fd);
            return;
        }
    }
}

CtlClient::~CtlClient() {
    if (fd_ >= 0) close(fd_);
}

bool CtlClient::connect(const std::string &path, std::string &err) {
    sockaddr_un a;
    if (!make_addr(path, a, err)) return false;
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        err = "cannot connect to " + path + ": " + strerror(errno) + " (is eamclat running?)";
        return false;
    }
    return true;
}

bool CtlClient::run(const std::string &line, bool &ok, std::string &output, std::string &err) {
    std::string l = line;
    l.push_back('\n');
    if (!write_all(fd_, l.data(), l.size())) {
        err = std::string("send: ") + strerror(errno);
        return false;
    }
    std::string reply;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            err = "connection closed by eamclat";
            return false;
        }
        reply.append(buf, size_t(n));
        if (reply.back() == '\0') break;
    }
    ok = reply[0] == '0';
    output = reply.substr(1, reply.size() - 2);
    return true;
}

}  // namespace eamclat
