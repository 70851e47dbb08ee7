-- A stand-in for pktgen-dpdk's Lua API, as much of it as scripts/pktgen/rfc2544.lua uses, over a
-- simulated DUT: it forwards every frame up to CAPACITY percent of line rate and drops the excess
-- (and, for the other direction's port, nothing is forwarded at all). Lets the RFC 2544 search
-- logic run without pktgen, NICs or hugepages. Environment: CAPACITY (percent), LINE_PPS.
local capacity = tonumber(os.getenv("CAPACITY") or "50")
local line_pps = tonumber(os.getenv("LINE_PPS") or "14880952")
local expect_send = os.getenv("EXPECT_SEND") or "0"

local rate, running, sent, received = {}, {}, {}, {}
local trials = 0
local function reset()
    for p = 0, 1 do sent[p], received[p] = 0, 0 end
end
reset()

pktgen = {}
function pktgen.clr() reset() end
function pktgen.set(port, what, value)
    assert(what == "rate", "unexpected pktgen.set " .. tostring(what))
    rate[tonumber(port)] = value
end
function pktgen.start(port)
    local p = tonumber(port)
    running[p] = true
end
function pktgen.stop(port)
    local p = tonumber(port)
    running[p] = false
end
local now_ms = 0
function pktgen.delay(ms)
    -- Frames flow from every running port for the time that passes.
    for p = 0, 1 do
        if running[p] then
            local frames = math.floor(line_pps * rate[p] / 100 * ms / 1000)
            local passed = math.floor(line_pps * math.min(rate[p], capacity) / 100 * ms / 1000)
            sent[p] = sent[p] + frames
            received[1 - p] = received[1 - p] + passed
            if p == tonumber(expect_send) then trials = trials + 1 end
        end
    end
    now_ms = now_ms + ms
end
function pktgen.portStats(port, kind)
    assert(kind == "port")
    local p = tonumber(port)
    return {[p] = {opackets = sent[p], ipackets = received[p]}}
end
function printf(fmt, ...) io.write(string.format(fmt, ...)) end
package.loaded["Pktgen"] = true
