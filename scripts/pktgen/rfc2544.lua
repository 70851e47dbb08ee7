-- RFC 2544 §26.1 throughput (zero-loss rate by binary search) through an eamclat box, for
-- pktgen-dpdk 23.06 (Lua API as in pktgen's own scripts/rfc2544_tput_test.lua). RFC 8219 §7.1
-- applies it to IPv6 transition technologies: the offered rate is counted on the sending side, the
-- forwarded frames on the other side, after translation (a 64-byte IPv4 frame leaves as 84 bytes).
--
-- Topology (docs/BENCHMARKING.md): tester port 0 <-> DUT LAN, tester port 1 <-> DUT WAN. pktgen
-- replays the pcaps of scripts/pktgen/make_pcaps.sh: `-s 0:<4to6.pcap> -s 1:<6to4.pcap>`.
--
-- Parameters from the environment (defaults in brackets):
--   DIRECTION   4to6 (send port 0, receive port 1) or 6to4 (send 1, receive 0)     [4to6]
--   DURATION    seconds per trial (RFC 2544 §24: at least 60 for a report)         [60]
--   PAUSE       seconds after each trial for in-flight frames                      [2]
--   RESOLUTION  stop when the search interval is narrower than this, in % of line  [0.1]
--   LOSS        acceptable lost frames per trial (RFC 2544: 0)                     [0]
--   PRIME       seconds of 4->6 traffic at 1% first, so that the DUT learns the LAN
--               hosts' MACs before a 6->4 run (its sightings, ARCHITECTURE.md)      [2]
--   OUTPUT      CSV file to append results to                                       [rfc2544.csv]
-- Run: pktgen -l 0-4 -n 4 -- -P -T -m "[1:2].0,[3:4].1" -s 0:a.pcap -s 1:b.pcap -f rfc2544.lua

package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local direction = os.getenv("DIRECTION") or "4to6"
local duration = tonumber(os.getenv("DURATION") or "60")
local pause = tonumber(os.getenv("PAUSE") or "2")
local resolution = tonumber(os.getenv("RESOLUTION") or "0.1")
local tolerated = tonumber(os.getenv("LOSS") or "0")
local prime = tonumber(os.getenv("PRIME") or "2")
local output = os.getenv("OUTPUT") or "rfc2544.csv"

local send, recv = "0", "1"
if direction == "6to4" then send, recv = "1", "0" end

-- One trial at `rate` percent of the sending port's line rate: frames sent and received.
local function trial(rate)
    pktgen.clr()
    pktgen.set(send, "rate", rate)
    pktgen.start(send)
    pktgen.delay(duration * 1000)
    pktgen.stop(send)
    pktgen.delay(pause * 1000)
    local tx = pktgen.portStats(send, "port")[tonumber(send)].opackets
    local rx = pktgen.portStats(recv, "port")[tonumber(recv)].ipackets
    return tx, rx
end

if prime > 0 then
    -- The LAN side's frames come from the hosts of the address plan: the DUT records their MACs
    -- (neighbor table) so that translated 6->4 packets can be delivered instead of held.
    pktgen.set("0", "rate", 1)
    pktgen.start("0")
    pktgen.delay(prime * 1000)
    pktgen.stop("0")
    pktgen.delay(pause * 1000)
end

local lo, hi, best = 0.0, 100.0, nil
local best_tx, best_rx = 0, 0
local rate = 100.0
while true do
    local tx, rx = trial(rate)
    local lost = tx - rx
    printf("%s rate %6.2f%%: sent %d, received %d, lost %d\n", direction, rate, tx, rx, lost)
    if tx > 0 and lost <= tolerated then
        best, best_tx, best_rx = rate, tx, rx
        lo = rate
    else
        hi = rate
    end
    if hi - lo < resolution then break end
    rate = (lo + hi) / 2
end

local f = io.open(output, "a")
if best then
    local fps = best_rx / duration
    printf("%s throughput: %.2f%% of line rate, %.0f frames/s received (%d sent, %d received)\n",
           direction, best, fps, best_tx, best_rx)
    f:write(string.format("%s,%d,%.2f,%.0f,%d,%d\n", direction, duration, best, fps, best_tx, best_rx))
else
    printf("%s throughput: no zero-loss rate above %.2f%%\n", direction, resolution)
    f:write(string.format("%s,%d,0,0,0,0\n", direction, duration))
end
f:close()
