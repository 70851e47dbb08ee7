// The control socket eamclat-ctl attaches to (like vppctl): a UNIX stream socket; the client
// sends command lines, the daemon runs each through the same Shell as the terminal and answers
// with one status byte ('0' ok, '1' error), the output, and a NUL byte.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace eamclat {

class EventLoop;
class Shell;

class CtlServer {
public:
    CtlServer(EventLoop &loop, Shell &shell) : loop_(loop), shell_(shell) {}
    ~CtlServer();
    bool start(const std::string &path, std::string &err);
    const std::string &path() const { return path_; }

private:
    void accept_client();
    void read_client(int fd);
    void drop(int fd);
    EventLoop &loop_;
    Shell &shell_;
    int fd_ = -1;
    std::string path_;
    std::map<int, std::string> clients_;  // fd -> partial line
};

// Client side (eamclat-ctl and tests): connect, send one line, get (ok, output).
class CtlClient {
public:
    ~CtlClient();
    bool connect(const std::string &path, std::string &err);
    bool run(const std::string &line, bool &ok, std::string &output, std::string &err);

private:
    int fd_ = -1;
};

}  // namespace eamclat
