// The operator-published EAMT (draft-ietf-v6ops-464xlat-optimization-03 §5.3): the document
// format, its validation and its detached Ed25519 signature. The pull client (pull_client.hpp)
// fetches it; `table load FILE` pushes it; both go through parse_operator_table() so that a table
// is accepted or refused by exactly one set of rules.
//
// The rules here are mirrored by scripts/eamclat-publish (`check`): change both together
// (docs/OPERATOR-TABLE.md lists them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "table_manager.hpp"
#include "xlat/types.hpp"

namespace eamclat {

// The `operator-table:` config section (docs/OPERATOR-TABLE.md). Durations in seconds.
struct OperatorTableConfig {
    std::string url;                  // https://...; empty = no pulling (`table load` still works)
    std::string public_key;           // PEM Ed25519 public key; empty = signatures not required
    std::string ca_file;              // CA bundle for the server certificate; empty = system store
    std::string state_file;           // last good table; the loader fills in <state-dir>/operator-table.state; empty = not saved
    uint32_t refresh_min = 60;        // lower bound of the refresh interval
    uint32_t refresh_max = 86400;     // upper bound of the refresh interval
    uint32_t initial_jitter = 300;    // first pull after boot: random delay in [0, initial-jitter]
    uint64_t max_bytes = 4u << 20;    // table size limit, enforced while downloading
    uint32_t max_entries = 100000;
    uint32_t timeout = 30;            // whole transfer (connect + TLS + body)
};

// Checks the section on its own (ranges, https URL). Returns "" or the problem.
std::string check_operator_config(const OperatorTableConfig &c);

// What a table is checked against besides its own consistency.
struct OperatorTableLimits {
    uint64_t max_bytes = 4u << 20;
    uint32_t max_entries = 100000;
    // The CE's own prefixes (CLAT prefix, PLAT prefix, LAN IPv4 and IPv6 prefixes): an entry
    // overlapping one of them would steal the CE's own traffic.
    std::vector<Prefix4> forbidden4;
    std::vector<Prefix6> forbidden6;
};

using OperatorEntry = TableManager::OperatorEntry;

struct OperatorTable {
    uint32_t version = 0;
    uint64_t serial = 0;
    std::string generated;            // RFC 3339, as written
    uint32_t default_ttl = 0;         // 0 = absent (then every entry carries its own ttl)
    std::vector<OperatorEntry> entries;  // every entry with its own ttl (>= 1), §5.3
    uint32_t min_ttl() const;         // 0 when there is no entry
};

// Why a table was refused. One counter per reason in the pull client.
enum class TableError : uint8_t {
    none,
    too_large,        // more than max_bytes
    syntax,           // not a single JSON/YAML document, duplicate key, bad character
    schema,           // missing/unknown key, wrong type, unsupported version
    too_many_entries,
    bad_entry,        // an entry violates a rule (suffix lengths, special range, overlap...)
    signature_missing,
    signature_bad,
};
const char *table_error_name(TableError e);

// Parses and validates a table (all-or-nothing). On failure returns nullopt, sets `why` and an
// error text naming the line and the entry index ("line 12: entries[3]: ...").
std::optional<OperatorTable> parse_operator_table(std::string_view bytes, const OperatorTableLimits &limits,
                                                  std::string &err, TableError *why = nullptr);

// The special-purpose ranges no entry may overlap (RFC 6890 registries; documentation ranges
// are allowed on purpose: tests and examples use them).
const std::vector<Prefix4> &special_ranges4();
const std::vector<Prefix6> &special_ranges6();

// An Ed25519 public key (OpenSSL EVP_PKEY) loaded from a PEM file.
class PublicKey {
public:
    PublicKey();
    ~PublicKey();
    PublicKey(PublicKey &&) noexcept;
    PublicKey &operator=(PublicKey &&) noexcept;
    static std::optional<PublicKey> load_pem_file(const std::string &path, std::string &err);
    static std::optional<PublicKey> load_pem(std::string_view pem, std::string &err);

    // Verifies a detached signature over the exact bytes. `signature` is the .sig file content:
    // 64 raw bytes or their base64 (whitespace ignored).
    bool verify(std::string_view data, std::string_view signature, std::string &err) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Base64 (RFC 4648 §4) without line breaks; decode ignores ASCII whitespace, rejects anything
// else that is not in the alphabet.
std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);

// Writes a file atomically (temporary file in the same directory, fsync, rename).
bool write_file_atomic(const std::string &path, std::string_view data, std::string &err);
// Reads at most max_bytes (+1 to detect larger files). nullopt and err when unreadable.
std::optional<std::string> read_file(const std::string &path, uint64_t max_bytes, std::string &err);

}  // namespace eamclat
