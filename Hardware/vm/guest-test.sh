#!/bin/bash
# Runs inside the Hardware/vm-test virtual machine, as root, on the host's read-only root.
# Two virtual controllers (hci0, hci1) that see each other; profiles and services on tmpfs.
# Every check prints "RESULT name: PASS|FAIL detail"; measurements print "METRIC name=value".
# The exit status is the number of failed checks.
exec 2>&1
echo "PROTON-HW-GUEST-START"
set -u
# shellcheck disable=SC1090
. "$PROTON_HW_ENV"
proton=$PROTON_BIN
T=/run/proton-hw
mkdir -p "$T"
fails=0
uptime_s() { cut -d' ' -f1 /proc/uptime; }
result() {
    echo "RESULT $1: $2${3:+ ($3)} [t=$(uptime_s)s]"
    [ "$2" = PASS ] || fails=$((fails + 1))
}
metric() { echo "METRIC $1=$2"; }
# waitfor PATTERN FILE [TENTHS]: until FILE holds PATTERN
waitfor() {
    local i
    for i in $(seq "${3:-300}"); do
        grep -q -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
json_field() { sed -n "s/^ *\"$1\" *: *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -1; }
show() { sed 's/^/    | /' "$1"; }
finish() {
    free -m | awk 'NR==2 { print "guest memory used: " $3 " MiB" }'
    echo "FAILS=$fails"
    exit "$fails"
}

# ---- the virtual radios
ip link set lo up
if /run/proton-hw-modprobe -a bluetooth hci_vhci rfcomm af_alg algif_hash algif_skcipher; then
    result modules PASS
else
    result modules FAIL; finish
fi
btvirt -l2 > "$T/btvirt.log" 2>&1 &
for i in $(seq 100); do [ -e /sys/class/bluetooth/hci1 ] && break; sleep 0.1; done
# Under software emulation a controller's first HCI reset can time out; bring each up again
# until it answers.
for h in hci0 hci1; do
    for attempt in 1 2 3 4 5; do
        hciconfig "$h" up 2>/dev/null && hciconfig "$h" | grep -q "UP RUNNING" && break
        sleep 1
    done
    hciconfig "$h" piscan && hciconfig "$h" name "proton-vm-$h"
done
A0=$(hciconfig hci0 | awk '/BD Address/ { print $3 }')
A1=$(hciconfig hci1 | awk '/BD Address/ { print $3 }')
if [ -n "$A0" ] && [ -n "$A1" ] && [ "$A0" != 00:00:00:00:00:00 ] && [ "$A1" != 00:00:00:00:00:00 ]; then result controllers PASS "hci0 $A0, hci1 $A1"; else result controllers FAIL; finish; fi

# ---- loopback services: a receiving service per person, one sending service
# All three start at once (each start costs seconds under emulation); then their URLs are read.
# The sending service delivers to loopback only when told (it refuses non-public targets).
for service in receiving-a:receiving receiving-b:receiving sending:sending; do
    extra=()
    [ "${service#*:}" = sending ] && extra=(--allow-private-targets)
    "$proton" serve "${service#*:}" --listen 127.0.0.1:0 --data "$T/service-${service%%:*}" "${extra[@]}" \
        > "$T/service-${service%%:*}.log" 2>&1 &
done
url() {  # url NAME: the service's base URL, once it listens
    waitfor "listening on http://" "$T/service-$1.log" 900 || { show "$T/service-$1.log" >&2; return 1; }
    sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T/service-$1.log" | head -1
}
if recv_a=$(url receiving-a) && recv_b=$(url receiving-b) && send=$(url sending); then
    result services PASS "$recv_a $recv_b $send"
else
    result services FAIL; finish
fi
profile() {  # profile NAME RECEIVING
    local dir=$T/$1
    "$proton" init --profile "$dir" --name "$1" > /dev/null &&
        "$proton" services add receiving "$2" --profile "$dir" > /dev/null &&
        "$proton" services add sending "$send" --profile "$dir" > /dev/null
}
# Two at a time (the VM has two CPUs): each proton start costs seconds under emulation.
profile Alice "$recv_a" & p1=$!
profile Bob "$recv_b" & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
profile Carol "$recv_b" & p3=$!
profile Dave "$recv_b" & p4=$!
wait $p3; r3=$?; wait $p4; r4=$?
if [ $((r1 + r2 + r3 + r4)) = 0 ]; then
    result profiles PASS
else
    result profiles FAIL; finish
fi

# pair NAME LISTENER INITIATOR [listener options] -- [initiator options]
# The listener (on hci0) starts first and is waited for, then the initiator (on hci1) runs;
# both confirm with --yes, and the SAS each printed are compared here.
pair() {
    local name=$1 listener=$2 initiator=$3; shift 3
    local lopts=() iopts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do lopts+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    iopts=("$@")
    local L=$T/$name-listen I=$T/$name-initiate
    timeout 240 "$proton" pair --listen --adapter hci0 --yes --json --timeout 200 --profile "$T/$listener" "${lopts[@]}" \
        > "$L.json" 2> "$L.log" &
    local lpid=$!
    if ! waitfor "Waiting for" "$L.log" 900; then
        result "$name" FAIL "the listener never started listening"; show "$L.log"; kill "$lpid" 2>/dev/null; return 1
    fi
    local started; started=$(date +%s%N)
    timeout 200 "$proton" pair --adapter hci1 --yes --json --timeout 150 --profile "$T/$initiator" "${iopts[@]}" \
        > "$I.json" 2> "$I.log" < "${PAIR_STDIN:-/dev/null}"
    local irc=$?
    wait "$lpid"
    local lrc=$?
    local elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
    echo "  $listener (listening):"; show "$L.log"; show "$L.json"
    echo "  $initiator (initiating):"; show "$I.log"; show "$I.json"
    if [ "$lrc" != 0 ] || [ "$irc" != 0 ]; then
        result "$name" FAIL "exit status $lrc (listener), $irc (initiator)"; return 1
    fi
    local ls is
    ls=$(json_field sas "$L.json"); is=$(json_field sas "$I.json")
    local lr ir
    lr=$(json_field relationshipID "$L.json"); ir=$(json_field relationshipID "$I.json")
    if [ -n "$ls" ] && [ "$ls" = "$is" ] && [ -n "$lr" ] && [ "$lr" = "$ir" ]; then
        result "$name" PASS "both printed SAS $ls, relationship $lr"
    else
        result "$name" FAIL "SAS '$ls' vs '$is', relationship '$lr' vs '$ir' (listener vs initiator)"; return 1
    fi
    metric "${name}_handshake_ms_listener" "$(json_field handshakeMilliseconds "$L.json")"
    metric "${name}_handshake_ms_initiator" "$(json_field handshakeMilliseconds "$I.json")"
    metric "${name}_connect_ms_initiator" "$(json_field connectMilliseconds "$I.json")"
    metric "${name}_command_wall_ms" "$elapsed"
}

# ---- 1. kernel only (no bluetoothd, so no SDP): the listener says SDP is unavailable and
# uses the default channel; the initiator names the channel.
pair pair_kernel_only Alice Bob -- --connect "$A0" --channel 27
grep -q "SDP" "$T/pair_kernel_only-listen.log" && result sdp_unavailable_reported PASS ||
    result sdp_unavailable_reported FAIL "the listener did not say SDP is unavailable"

# ---- a message through the services, Bob -> Alice, received by Alice's receive agent
if "$proton" send Alice "hello from Bob over the services" --profile "$T/Bob" > "$T/send.log" 2>&1 &&
    "$proton" receive --wait 15 --json --profile "$T/Alice" > "$T/receive.json" 2>&1 &&
    grep -q "hello from Bob over the services" "$T/receive.json"; then
    result message_after_pairing PASS
else
    show "$T/send.log"; show "$T/receive.json"; result message_after_pairing FAIL
fi
# ... and back, Alice -> Bob
if "$proton" send Bob "hello back from Alice" --profile "$T/Alice" > "$T/send2.log" 2>&1 &&
    "$proton" receive --wait 15 --json --profile "$T/Bob" > "$T/receive2.json" 2>&1 &&
    grep -q "hello back from Alice" "$T/receive2.json"; then
    result message_reply PASS
else
    show "$T/send2.log"; show "$T/receive2.json"; result message_reply FAIL
fi

# ---- 2. with bluetoothd -C (the legacy /run/sdp socket): the listener registers our SDP record
# and the initiator finds the channel by SDP search (no --channel).
mkdir -p /run/dbus
dbus-daemon --system --fork --nopidfile
/usr/libexec/bluetooth/bluetoothd -n -C > "$T/bluetoothd.log" 2>&1 &
for i in $(seq 100); do [ -S /run/sdp ] && break; sleep 0.1; done
sleep 1
# bluetoothd took the controllers over through mgmt: it switched SSP on and (on 6.12) page scan
# off, so an unpaired connect fails with "Host is down". Pairing security is ours, not BR/EDR's.
for i in 0 1; do for c in "power off" "ssp off" "connectable on" "discov on" "power on" "name proton-vm-hci$i"; do
    btmgmt --index $i $c > /dev/null 2>&1; done; done
[ -S /run/sdp ] && result bluetoothd PASS || result bluetoothd FAIL "no /run/sdp"
pair pair_sdp Alice Carol -- --connect "$A0"
grep -q "SDP record" "$T/pair_sdp-listen.log" && result sdp_registered PASS ||
    result sdp_registered FAIL "the listener did not register its SDP record"

# ---- 3. --scan: inquiry from hci1, the list of devices offering the service, pick number 1
echo 1 > "$T/scan-choice"
PAIR_STDIN=$T/scan-choice pair pair_scan Alice Dave -- --scan --inquiry-seconds 4
grep -q "1  $A0  proton-vm-hci0  channel" "$T/pair_scan-initiate.log" && result scan_found_listener PASS "listed with its name" ||
    result scan_found_listener FAIL "the scan did not list $A0"

# ---- a person who answers "no": both sides stop (65) and neither stores anything
contacts_of() { "$proton" contacts --json --profile "$T/$1" | grep -c '"relationshipID"'; }
before_alice=$(contacts_of Alice); before_bob=$(contacts_of Bob)
echo n > "$T/answer-no"
timeout 240 "$proton" pair --listen --adapter hci0 --json --timeout 200 --profile "$T/Alice" \
    < "$T/answer-no" > "$T/reject-listen.json" 2> "$T/reject-listen.log" &
lpid=$!
waitfor "Waiting for" "$T/reject-listen.log" 900
timeout 200 "$proton" pair --connect "$A0" --adapter hci1 --yes --json --timeout 150 --profile "$T/Bob" \
    > "$T/reject-initiate.json" 2> "$T/reject-initiate.log"
irc=$?
wait "$lpid"; lrc=$?
if [ "$lrc" = 65 ] && [ "$irc" = 65 ] && [ "$(contacts_of Alice)" = "$before_alice" ] && [ "$(contacts_of Bob)" = "$before_bob" ]; then
    result pair_rejected PASS "both exit 65: $(tail -1 "$T/reject-initiate.log")"
else
    show "$T/reject-listen.log"; show "$T/reject-initiate.log"
    result pair_rejected FAIL "exit $lrc (listener), $irc (initiator); contacts $before_alice -> $(contacts_of Alice), $before_bob -> $(contacts_of Bob)"
fi

# ---- no Bluetooth misuse: a connect to an address nobody listens on fails with one sentence
timeout 60 "$proton" pair --connect 00:11:22:33:44:55 --channel 27 --adapter hci1 --yes --timeout 10 \
    --profile "$T/Bob" > "$T/unreachable.out" 2> "$T/unreachable.log"
rc=$?
[ "$rc" = 69 ] && [ "$(wc -l < "$T/unreachable.log")" = 1 ] && result unreachable_peer PASS "exit $rc: $(head -1 "$T/unreachable.log")" ||
    { show "$T/unreachable.log"; result unreachable_peer FAIL "exit $rc"; }

"$proton" contacts --profile "$T/Alice" | sed 's/^/    | /'
if dmesg | grep -q 'BUG\|Oops'; then dmesg | grep -A5 -m1 'BUG\|Oops'; result kernel_clean FAIL; else result kernel_clean PASS; fi
finish
