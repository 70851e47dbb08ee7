#!/usr/bin/env bash
# The e2e network with a stand-in CE made of TAYGA (stateless, `map` entries for the CLAT address of
# 192.168.1.100 and for the static EAM 203.0.113.20 <-> 2001:db8:20::20, the PLAT prefix for the
# rest). It proves the topology and the checks of run.sh without eamclat.
#
#   tests/e2e/standin-ce.sh               run the e2e checks against the stand-in (CE=standin run.sh)
#   tests/e2e/standin-ce.sh --hold [S]    build the network with the stand-in CE and keep it up for
#                                         S seconds (default 600) or until Ctrl-C, for poking by hand
#   tests/e2e/standin-ce.sh --bare [S]    the same with no CE at all: ce-lan and ce-wan are bare, as
#                                         eamclat expects them (start it by hand in the ecl-ce netns)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

case "${1:-}" in
    "") CE=standin exec "$ROOT/tests/e2e/run.sh" ;;
    --hold | --bare) ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac

# shellcheck source=lib/net.sh
source "$ROOT/tests/e2e/lib/net.sh"
ecl_init
ecl_build_isp
if [ "$1" = --hold ]; then ecl_build_ce_standin; else ecl_build_ce_bare; fi
hold=${2:-600}
cat <<INFO
Network up (ECL_ID=$ECL_ID, run dir $ECL_RUN):
  ip netns exec $NS_HOST4 curl http://$SRVDS_ADDR4/      # EAMT, arrives over IPv6 from $HOST4_CLAT6
  ip netns exec $NS_HOST4 curl http://$SRV4_ADDR/      # PLAT, arrives from TAYGA's $NAT64_POOL
  ip netns exec $NS_ISP dig @$RESOLVER6 AAAA v4only.test
  logs: $ECL_RUN/nginx-srvds/access.log $ECL_RUN/nginx-srv4/access.log $ECL_RUN/dns/
  20 MB file: /big.bin (sha256 $BIG_SHA), rate-limited copy /slow.bin
INFO
if [ "$1" = --bare ]; then
    cat <<INFO
  start eamclat:  ip netns exec $NS_CE build/control/eamclat --no-huge -m 1024 --no-pci --no-shconf \\
      --file-prefix ecl-$ECL_ID -l 0,1 --vdev net_af_packet0,iface=ce-lan --vdev net_af_packet1,iface=ce-wan \\
      -- --config CONFIG      (tests/e2e/run.sh write_eamclat_config shows the config)
INFO
fi
echo "Tearing down in $hold s (Ctrl-C to stop now)."
# One-second sleeps so that Ctrl-C / TERM are handled at once and leave no sleeper behind.
for ((i = 0; i < hold; i++)); do sleep 1; done
