// The operator-table pull client against a local HTTPS server (tests/operator/server.py) with a
// test CA generated at test time (tests/operator/make-ca.sh): what is applied, what is refused
// (the table in force always stays), conditional requests, persistence and the serial rules.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "event_loop.hpp"
#include "operator_table.hpp"
#include "pull_client.hpp"

extern char **environ;

using namespace eamclat;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// The source tree: the executable is <root>/<builddir>/tests/unit/ut_pull_client.
fs::path source_root() {
    fs::path exe = fs::read_symlink("/proc/self/exe");
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
        if (fs::exists(p / "tests/operator/server.py")) return p;
    FAIL("cannot find tests/operator/server.py above " << exe);
    return {};
}

std::string slurp(const fs::path &p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

void spit(const fs::path &p, const std::string &data) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << data;
}

// The CA, the server certificate and the operator keys: generated once per run.
const fs::path &pki() {
    static fs::path dir = [] {
        char tmpl[] = "/tmp/ut_pull_pki.XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        const std::string cmd = (source_root() / "tests/operator/make-ca.sh").string() + " " + tmpl + " >/dev/null";
        REQUIRE(std::system(cmd.c_str()) == 0);
        static std::string to_remove = tmpl;
        std::atexit([] { fs::remove_all(to_remove); });
        return fs::path(tmpl);
    }();
    return dir;
}

std::string sign_with(const fs::path &key_file, const std::string &data) {
    FILE *f = fopen(key_file.c_str(), "r");
    REQUIRE(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    fclose(f);
    REQUIRE(k);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, k) == 1);
    unsigned char sig[64];
    size_t len = sizeof sig;
    REQUIRE(EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char *>(data.data()), data.size()) == 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return std::string(reinterpret_cast<char *>(sig), len);
}

std::string table(uint64_t serial, const std::vector<std::string> &entries, uint32_t default_ttl = 3600) {
    std::string s = "{\"version\": 1, \"serial\": " + std::to_string(serial) +
                    ", \"generated\": \"2026-11-29T23:00:00Z\", \"default-ttl\": " + std::to_string(default_ttl) +
                    ",\n\"entries\": [\n";
    for (size_t i = 0; i < entries.size(); i++) s += entries[i] + (i + 1 < entries.size() ? ",\n" : "\n");
    return s + "]}\n";
}
std::string entry(const std::string &v4, const std::string &v6, uint32_t ttl = 0) {
    return "{\"ipv4\": \"" + v4 + "\", \"ipv6\": \"" + v6 + "\"" + (ttl ? ", \"ttl\": " + std::to_string(ttl) : "") + "}";
}
const std::string table1 = table(10, {entry("198.51.100.0/24", "2001:db8:30::/120", 600), entry("203.0.113.7", "2001:db8:31::7")});
const std::string table2 = table(11, {entry("198.51.100.0/24", "2001:db8:30::/120", 600)});

// The HTTPS server, one per test case, serving a fresh document root.
struct Server {
    fs::path www;
    pid_t pid = -1;
    int port = 0;
    explicit Server(const fs::path &root) : www(root / "www") { fs::create_directories(www); }
    ~Server() { stop(); }
    void start() {
        fs::remove(www / "port");
        const std::string py = "/usr/bin/python3";
        const std::string script = (source_root() / "tests/operator/server.py").string();
        const std::string cert = (pki() / "server.pem").string(), key = (pki() / "server.key").string();
        const std::string docroot = www.string();
        char *argv[] = {const_cast<char *>(py.c_str()), const_cast<char *>(script.c_str()),
                        const_cast<char *>(docroot.c_str()), const_cast<char *>(cert.c_str()),
                        const_cast<char *>(key.c_str()), nullptr};
        REQUIRE(posix_spawn(&pid, py.c_str(), nullptr, nullptr, argv, environ) == 0);
        for (int i = 0; i < 100 && !fs::exists(www / "port"); i++) std::this_thread::sleep_for(50ms);
        REQUIRE(fs::exists(www / "port"));
        port = std::stoi(slurp(www / "port"));
    }
    void stop() {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
    std::string url(const std::string &path = "table.json") const {
        return "https://127.0.0.1:" + std::to_string(port) + "/" + path;
    }
    void put(const std::string &name, const std::string &data) { spit(www / name, data); }
    void drop(const std::string &name) { fs::remove(www / name); }
    // Serves `body` as table.json, signed with `key` (or with no .sig when key is empty).
    void publish(const std::string &body, const std::string &key = "operator.key") {
        put("table.json", body);
        if (key.empty()) drop("table.json.sig");
        else put("table.json.sig", base64_encode(sign_with(pki() / key, body)) + "\n");
    }
    std::vector<std::string> requests() const {
        std::vector<std::string> out;
        std::ifstream f(www / "requests.log");
        for (std::string l; std::getline(f, l);) out.push_back(l);
        return out;
    }
};

struct Harness {
    fs::path dir;
    Server server;
    EventLoop loop;
    OperatorTableConfig cfg;
    OperatorTableLimits limits;
    PullTuning tuning;
    std::vector<std::vector<OperatorEntry>> applied;
    std::unique_ptr<PullClient> client;
    int done = 0;
    bool last_ok = false;

    static fs::path tmpdir() {
        char tmpl[] = "/tmp/ut_pull.XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        return tmpl;
    }
    explicit Harness(bool signed_tables = true) : dir(tmpdir()), server(dir) {
        server.start();
        cfg.url = server.url();
        cfg.ca_file = (pki() / "ca.pem").string();
        if (signed_tables) cfg.public_key = (pki() / "operator.pub").string();
        cfg.state_file = (dir / "operator-table.state").string();
        cfg.initial_jitter = 0;
        cfg.timeout = 2;
        tuning.retry_min = 1h;  // the tests pull explicitly; no retry may fire in between
        tuning.seed = 1;
    }
    ~Harness() {
        client.reset();
        server.stop();
        fs::remove_all(dir);
    }
    void make() {
        client = std::make_unique<PullClient>(loop, cfg, limits, [this](const std::vector<OperatorEntry> &e, std::string &) {
            applied.push_back(e);
            return true;
        }, tuning);
        client->on_pull_done = [this](bool ok) {
            done++;
            last_ok = ok;
            loop.stop();
        };
    }
    // start() schedules the first pull at once (initial-jitter 0): wait for it.
    bool start_and_wait() {
        make();
        std::string err;
        REQUIRE(client->start(err));
        return wait();
    }
    bool wait(std::chrono::milliseconds deadline = 8s) {
        const int before = done;
        int t = loop.add_timer(deadline, [this] { loop.stop(); }, false);
        loop.run(20ms);  // until on_pull_done or the deadline stops it
        loop.cancel_timer(t);
        REQUIRE(done > before);
        if (!last_ok) UNSCOPED_INFO("pull failed: " << client->last_error());
        return last_ok;
    }
    bool pull() {
        std::string err;
        REQUIRE(client->pull_now(err));
        return wait();
    }
    uint64_t n(OperatorCounter c) const { return client->counter(c); }
};

}  // namespace

TEST_CASE("pull client: refresh interval and back-off arithmetic", "[pull]") {
    // 90% of the shortest lifetime, bounded.
    CHECK(PullClient::refresh_base(600, std::nullopt, 60, 86400) == 540s);
    CHECK(PullClient::refresh_base(600, 300, 60, 86400) == 270s);
    CHECK(PullClient::refresh_base(600, 0, 60, 86400) == 60s);   // no-cache: refresh-min
    CHECK(PullClient::refresh_base(10, std::nullopt, 60, 86400) == 60s);
    CHECK(PullClient::refresh_base(0, std::nullopt, 60, 86400) == 86400s);  // empty table
    CHECK(PullClient::refresh_base(2000000, std::nullopt, 60, 86400) == 86400s);
    CHECK(PullClient::backoff_base(1, 30s, 1h) == 30s);
    CHECK(PullClient::backoff_base(2, 30s, 1h) == 60s);
    CHECK(PullClient::backoff_base(4, 30s, 1h) == 240s);
    CHECK(PullClient::backoff_base(8, 30s, 1h) == 1h);
    CHECK(PullClient::backoff_base(1000, 30s, 1h) == 1h);
}

TEST_CASE("pull client: a good signed table is applied, saved, and 304 renews it without re-parsing", "[pull]") {
    Harness h;
    h.server.publish(table1);
    REQUIRE(h.start_and_wait());
    CHECK(h.n(OperatorCounter::pulls) == 1);
    CHECK(h.n(OperatorCounter::applied) == 1);
    CHECK(h.n(OperatorCounter::parsed) == 1);
    REQUIRE(h.client->serial() == std::optional<uint64_t>(10));
    REQUIRE(h.applied.size() == 1);
    REQUIRE(h.applied[0].size() == 2);
    CHECK(h.applied[0][0].ipv4.str() == "198.51.100.0/24");
    CHECK(h.applied[0][0].ttl == 600);
    CHECK(h.applied[0][1].ttl == 3600);
    CHECK(fs::exists(h.cfg.state_file));
    CHECK(h.client->last_error().empty());
    // Refresh at 90% of the shortest TTL (600 s) ±10%.
    auto next = h.client->next_pull_in();
    CHECK(next >= 480s);
    CHECK(next <= 600s);

    REQUIRE(h.pull());
    CHECK(h.n(OperatorCounter::not_modified) == 1);
    CHECK(h.n(OperatorCounter::parsed) == 1);  // not re-parsed
    CHECK(h.n(OperatorCounter::applied) == 1);
    REQUIRE(h.applied.size() == 2);            // renewed: TTLs restart
    CHECK(h.applied[1].size() == 2);
    auto reqs = h.server.requests();
    REQUIRE(reqs.size() == 3);  // table, table.sig, conditional table
    CHECK_THAT(reqs[1], Contains("/table.json.sig"));
    CHECK_THAT(reqs[2], Contains("\"if-none-match\": \"\\\""));
    CHECK_THAT(h.client->status(), Contains("serial         10") && Contains("not_modified"));

    SECTION("a newer serial replaces it") {
        h.server.publish(table2);
        REQUIRE(h.pull());
        CHECK(h.client->serial() == std::optional<uint64_t>(11));
        CHECK(h.n(OperatorCounter::applied) == 2);
        CHECK(h.applied.back().size() == 1);
    }
    SECTION("Cache-Control max-age shortens the refresh interval") {
        h.server.put("table.json.headers", "Cache-Control: max-age=100\n");
        h.server.publish(table2);
        REQUIRE(h.pull());
        auto in = h.client->next_pull_in();
        CHECK(in >= 80s);   // 90 s ±10%
        CHECK(in <= 100s);
    }
}

TEST_CASE("pull client: the timers pull by themselves (refresh, then back-off and recovery)", "[pull]") {
    Harness h;
    h.cfg.refresh_min = 1;
    h.tuning.retry_min = 200ms;
    h.tuning.retry_max = 400ms;
    h.server.publish(table(10, {entry("198.51.100.0/24", "2001:db8:30::/120", 1)}));
    REQUIRE(h.start_and_wait());
    // TTL 1 s: refresh-min (1 s) ±10%, no `pull table` needed.
    REQUIRE(h.wait(5s));
    CHECK(h.n(OperatorCounter::pulls) == 2);
    CHECK(h.n(OperatorCounter::not_modified) == 1);
    // The server breaks: retries come after the back-off (200 ms, then 400 ms) and recover.
    h.server.put("table.json.status", "503");
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(h.wait(5s));
    CHECK_FALSE(h.wait(5s));
    const auto failed_for = std::chrono::steady_clock::now() - t0;
    CHECK(failed_for >= 180ms);  // at least the first back-off (the first failure came at ~1 s)
    CHECK(h.n(OperatorCounter::failed_http) == 2);
    CHECK_THAT(h.client->status(), Contains("2 consecutive failures"));
    h.server.drop("table.json.status");
    CHECK(h.wait(5s));
    CHECK_THAT(h.client->status(), Contains("state          idle\n"));
    CHECK(h.client->serial() == std::optional<uint64_t>(10));
}

TEST_CASE("pull client: failures and bad tables are refused, the table in force stays", "[pull]") {
    Harness h;
    h.server.publish(table1);
    REQUIRE(h.start_and_wait());
    REQUIRE(h.applied.size() == 1);
    const std::string saved = slurp(h.cfg.state_file);
    // Every case below publishes something newer (serial 12) that must not be taken.
    const std::string newer = table(12, {entry("198.51.100.0/24", "2001:db8:30::/120", 600)});

    auto still_old = [&] {
        CHECK_FALSE(h.last_ok);
        CHECK(h.client->serial() == std::optional<uint64_t>(10));
        CHECK(h.applied.size() == 1);
        CHECK(h.n(OperatorCounter::applied) == 1);
        CHECK(slurp(h.cfg.state_file) == saved);
        CHECK_FALSE(h.client->last_error().empty());
        // Back-off after a failure (retry_min is 1 h in this harness, ±10%).
        CHECK(h.client->next_pull_in() >= 3200s);
    };

    SECTION("HTTP 500") {
        h.server.publish(newer);
        h.server.put("table.json.status", "500");
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::failed_http) == 1);
        CHECK_THAT(h.client->last_error(), Contains("HTTP status 500"));
        still_old();
    }
    SECTION("timeout") {
        h.server.publish(newer);
        h.server.put("table.json.delay", "4");  // the harness's timeout is 2 s
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::failed_timeout) == 1);
        still_old();
    }
    SECTION("truncated body") {
        h.server.publish(newer);
        h.server.put("table.json.truncate", "");
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::failed_transport) == 1);
        still_old();
    }
    SECTION("garbage") {
        h.server.publish("<html>503 Service Unavailable</html>\n");
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::refused_syntax) + h.n(OperatorCounter::refused_schema) == 1);
        still_old();
    }
    SECTION("a table with one bad entry") {
        h.server.publish(table(12, {entry("198.51.100.0/24", "2001:db8:30::/120"), entry("10.0.0.1", "2001:db8:40::1")}));
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::refused_bad_entry) == 1);
        CHECK_THAT(h.client->last_error(), Contains("line 4") && Contains("entries[1].ipv4") && Contains("special-purpose"));
        still_old();
    }
    SECTION("a bad signature (signed by another key)") {
        h.server.publish(newer, "other.key");
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::refused_signature_bad) == 1);
        still_old();
    }
    SECTION("a signature over other bytes") {
        h.server.publish(newer);
        h.server.put("table.json", newer + " ");
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::refused_signature_bad) == 1);
        still_old();
    }
    SECTION("no signature") {
        h.server.publish(newer, "");
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::refused_signature_missing) == 1);
        still_old();
    }
    SECTION("an older serial") {
        h.server.publish(table(9, {entry("198.51.100.0/24", "2001:db8:30::/120")}));
        CHECK_FALSE(h.pull());
        CHECK(h.n(OperatorCounter::refused_serial_older) == 1);
        CHECK_THAT(h.client->last_error(), Contains("serial 9 is lower than the serial in force 10"));
        still_old();
    }
}

TEST_CASE("pull client: max-bytes is enforced while downloading", "[pull]") {
    Harness h(false);
    h.cfg.max_bytes = 4096;
    std::vector<std::string> many;
    for (int i = 0; i < 200; i++)
        many.push_back(entry("198.51.100." + std::to_string(i), "2001:db8:30::" + std::to_string(i + 1)));
    const std::string big = table(20, many);
    REQUIRE(big.size() > 4096);
    h.server.publish(table1, "");
    REQUIRE(h.start_and_wait());
    REQUIRE(h.client->serial() == std::optional<uint64_t>(10));

    SECTION("announced by Content-Length") {
        h.server.publish(big, "");
        CHECK_FALSE(h.pull());
    }
    SECTION("close-delimited body: only the running count can stop it") {
        h.server.publish(big, "");
        h.server.put("table.json.nolength", "");
        CHECK_FALSE(h.pull());
    }
    CHECK(h.n(OperatorCounter::refused_too_large) == 1);
    CHECK_THAT(h.client->last_error(), Contains("larger than max-bytes"));
    CHECK(h.client->serial() == std::optional<uint64_t>(10));
    CHECK(h.applied.size() == 1);
}

TEST_CASE("pull client: the server certificate is verified", "[pull]") {
    Harness h(false);
    h.server.publish(table1, "");
    h.cfg.ca_file.clear();  // the system store: it does not know the test CA
    CHECK_FALSE(h.start_and_wait());
    CHECK(h.n(OperatorCounter::failed_transport) == 1);
    CHECK_FALSE(h.client->serial());
    CHECK(h.applied.empty());
}

TEST_CASE("pull client: restart without the server uses the saved table", "[pull]") {
    Harness h;
    h.server.publish(table1);
    REQUIRE(h.start_and_wait());
    REQUIRE(h.client->serial() == std::optional<uint64_t>(10));
    h.client.reset();
    h.server.stop();
    h.applied.clear();

    // A new process: the table comes back from the state file before any pull succeeds.
    h.make();
    std::string err;
    REQUIRE(h.client->start(err));
    CHECK(h.n(OperatorCounter::restored) == 1);
    REQUIRE(h.client->serial() == std::optional<uint64_t>(10));
    REQUIRE(h.applied.size() == 1);
    CHECK(h.applied[0].size() == 2);
    CHECK(h.applied[0][0].ttl <= 600);  // what is left of the TTLs
    CHECK(h.applied[0][0].ttl >= 590);
    CHECK_FALSE(h.wait());  // the first pull fails: no server
    CHECK(h.n(OperatorCounter::failed_transport) == 1);
    CHECK(h.client->serial() == std::optional<uint64_t>(10));
    CHECK(h.applied.size() == 1);

    SECTION("the restored ETag makes the first pull after reboot a 304") {
        h.server.start();
        h.cfg.url = h.server.url();  // new port: the validators belong to the old URL...
        h.client.reset();
        h.applied.clear();
        h.make();
        REQUIRE(h.client->start(err));
        REQUIRE(h.wait());
        // ...so this one is a full fetch of the same serial: renewed, not replaced.
        CHECK(h.n(OperatorCounter::unchanged) == 1);
        CHECK(h.n(OperatorCounter::applied) == 0);
        REQUIRE(h.pull());
        CHECK(h.n(OperatorCounter::not_modified) == 1);
    }
    SECTION("a tampered state file is refused (signature checked again)") {
        h.client.reset();
        std::string s = slurp(h.cfg.state_file);
        // Replace the saved table by another one, keeping the old signature.
        const std::string old_b64 = base64_encode(table1);
        auto at = s.find(old_b64);
        REQUIRE(at != std::string::npos);
        s.replace(at, old_b64.size(), base64_encode(table2));
        spit(h.cfg.state_file, s);
        h.applied.clear();
        h.make();
        REQUIRE(h.client->start(err));
        CHECK(h.n(OperatorCounter::restored) == 0);
        CHECK(h.n(OperatorCounter::refused_signature_bad) == 1);
        CHECK_FALSE(h.client->serial());
        CHECK(h.applied.empty());
    }
}

TEST_CASE("pull client: push (`table load FILE`) and the serial rules", "[pull]") {
    Harness h;
    h.cfg.url.clear();  // push only
    h.make();
    std::string err, msg;
    REQUIRE(h.client->start(err));
    CHECK_FALSE(h.client->pull_now(err));
    CHECK_THAT(err, Contains("no operator-table url"));
    const fs::path f = h.dir / "push.json";
    auto put = [&](const std::string &body, bool sign = true) {
        spit(f, body);
        if (sign) spit(f.string() + ".sig", sign_with(pki() / "operator.key", body));  // raw 64 bytes
        else fs::remove(f.string() + ".sig");
    };

    put(table1);
    REQUIRE(h.client->load_file(f.string(), msg));
    CHECK_THAT(msg, Contains("serial 10 applied: 2 entries"));
    CHECK(h.n(OperatorCounter::pushed) == 1);

    put(table1);  // equal serial: no change, entries renewed
    REQUIRE(h.client->load_file(f.string(), msg));
    CHECK_THAT(msg, Contains("already in force"));
    CHECK(h.n(OperatorCounter::unchanged) == 1);
    CHECK(h.n(OperatorCounter::pushed) == 1);

    put(table(9, {entry("198.51.100.0/24", "2001:db8:30::/120")}));  // lower serial: refused
    CHECK_FALSE(h.client->load_file(f.string(), msg));
    CHECK_THAT(msg, Contains("serial 9 is lower than the serial in force 10"));
    CHECK(h.n(OperatorCounter::refused_serial_older) == 1);

    put(table2, false);  // unsigned while a key is configured
    CHECK_FALSE(h.client->load_file(f.string(), msg));
    CHECK(h.n(OperatorCounter::refused_signature_missing) == 1);

    put(table2);
    REQUIRE(h.client->load_file(f.string(), msg));
    CHECK(h.client->serial() == std::optional<uint64_t>(11));
    CHECK(h.n(OperatorCounter::pushed) == 2);
    CHECK(h.applied.size() == 3);  // table1, its renewal, table2
    CHECK_FALSE(h.client->load_file((h.dir / "missing.json").string(), msg));
}

TEST_CASE("pull client: the table manager refusing the table keeps the old one", "[pull]") {
    Harness h(false);
    h.server.publish(table1, "");
    bool accept = true;
    h.client = std::make_unique<PullClient>(h.loop, h.cfg, h.limits, [&](const std::vector<OperatorEntry> &e, std::string &err) {
        if (!accept) {
            err = "dataplane tables are full";
            return false;
        }
        h.applied.push_back(e);
        return true;
    }, h.tuning);
    h.client->on_pull_done = [&](bool ok) {
        h.done++;
        h.last_ok = ok;
        h.loop.stop();
    };
    std::string err;
    REQUIRE(h.client->start(err));
    REQUIRE(h.wait());
    accept = false;
    h.server.publish(table2, "");
    CHECK_FALSE(h.pull());
    CHECK(h.n(OperatorCounter::refused_apply) == 1);
    CHECK_THAT(h.client->last_error(), Contains("dataplane tables are full"));
    CHECK(h.client->serial() == std::optional<uint64_t>(10));
    CHECK(h.applied.size() == 1);
}

TEST_CASE("pull client: a table built and signed by eamclat-publish is accepted", "[pull][publish]") {
    Harness h;
    h.cfg.url.clear();
    h.make();
    std::string err, msg;
    REQUIRE(h.client->start(err));
    const fs::path csv = h.dir / "entries.csv";
    spit(csv, "# ipv4,ipv6,ttl,name\n198.51.100.0/24,2001:db8:30::/120,600,cdn-a\n203.0.113.7,2001:db8:31::7,,\n"
              "192.0.2.0/25,do-not-optimise,60,bank\n");
    const fs::path out = h.dir / "table.json";
    const std::string tool = (source_root() / "scripts/eamclat-publish").string();
    const std::string build = tool + " build --csv " + csv.string() + " --serial 77 --default-ttl 900 -o " + out.string();
    REQUIRE(std::system(build.c_str()) == 0);
    const std::string sign = tool + " sign --key " + (pki() / "operator.key").string() + " " + out.string();
    REQUIRE(std::system(sign.c_str()) == 0);
    const std::string check = tool + " check " + out.string() + " --pubkey " + (pki() / "operator.pub").string() + " >/dev/null";
    REQUIRE(std::system(check.c_str()) == 0);
    REQUIRE(h.client->load_file(out.string(), msg));
    INFO(msg);
    CHECK(h.client->serial() == std::optional<uint64_t>(77));
    REQUIRE(h.applied.size() == 1);
    REQUIRE(h.applied[0].size() == 3);
    CHECK(h.applied[0][0].name == "cdn-a");
    CHECK(h.applied[0][1].ttl == 900);
    CHECK(h.applied[0][2].do_not_optimise);
}
