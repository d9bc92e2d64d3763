# The package under a real systemd (sourced by test-dist; uses its helpers and state): Debian
# 12 booted with systemd-nspawn, the package installed with dpkg inside, the stand-in agent
# running as a unit inside (the container has loopback only), and the shipped units run as
# the README says.

# in_machine COMMAND...: COMMAND inside the container, bounded by $T seconds (default 60).
in_machine() { timeout "${T:-60}" nsenter -t "$leader" -a "$@"; }
# in_machine_slow COMMAND...: in_machine for up to 120 s, its output shown only on failure.
in_machine_slow() {
    T=120 in_machine "$@" >"$work/last-command.log" 2>&1 || { cat "$work/last-command.log" >&2; return 1; }
}
# unit_show UNIT: "Result ExecMainStatus" of UNIT.
unit_show() { in_machine systemctl show -p Result -p ExecMainStatus --value "$1" | paste -sd' '; }
# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds or time is up.
wait_for() {
    local what=$1 deadline=$(($(date +%s) + $2))
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { fail "timed out waiting for: $what"; return 1; }
        sleep 0.5
    done
}

tokens=()
# agent ARGS: (re)starts the stand-in agent in the container with ARGS (fresh certificate, token
# and state: a backup is due again), and points /etc/felhom/agent.env and agent.token at it.
agent() {
    printf 'DEVAGENT_ARGS=%s\n' "$1" >"$mroot/etc/devagent.args"
    in_machine systemctl restart devagent.service
    wait_for "the stand-in agent's settings" 30 in_machine grep -q TOKEN_FILE /run/devagent.env
    local settings token_file
    settings=$(in_machine cat /run/devagent.env)
    token_file=$(printf '%s\n' "$settings" | sed -n 's/^export FELHOM_AGENT_TOKEN_FILE=//p')
    printf '%s\n' "$settings" | sed -n 's/^export \(FELHOM_AGENT_\(ENDPOINT\|FINGERPRINT\)=\)/\1/p' \
        >"$mroot/etc/felhom/agent.env"
    in_machine install -m 0600 "$token_file" /etc/felhom/agent.token
    tokens+=("$(cat "$mroot/etc/felhom/agent.token")")
}
# hooks_log: what the test's logging hook recorded ("freeze PHASE JOB" and "thaw PHASE JOB").
hooks_log() { cat "$mroot/var/log/felhom-hooks.log" 2>/dev/null; }
count_in_hooks_log() { hooks_log | grep -c "^$1 " || true; }
# backup_running: the stand-in agent reports a running job.
backup_running() {
    in_machine sh -c 'set -a; . /etc/felhom/agent.env; felhom-agentctl --token-file /etc/felhom/agent.token backup status' |
        grep '"running"' >/dev/null
}
# (grep without -q after a pipe: under pipefail, an early exit would fail the writer.)
timer_listed() { in_machine systemctl list-timers --no-pager | grep felhom-backup.timer >/dev/null; }
crit_logged() { in_machine journalctl -p crit -t felhom-backup-failed -o cat --no-pager | grep 'felhom-backup.service' >/dev/null; }
# (Not is-active: a oneshot is "activating" while it runs, and "deactivating" during ExecStopPost=.)
backup_unit_stopped() {
    case $(in_machine systemctl show -p ActiveState --value felhom-backup.service) in
        inactive | failed) return 0 ;;
        *) return 1 ;;
    esac
}
srv_writable() { T=10 in_machine sh -c 'echo probe >/srv/probe'; }
# long_run_started: a backup run under the unit, stopped in the middle of a 600 s job.
long_run_started() {
    agent "--backup-seconds 600"
    : >"$mroot/var/log/felhom-hooks.log"
    in_machine systemctl start --no-block felhom-backup.service
    wait_for "a running backup job" 60 backup_running
}

run_systemd_checks() {
    mroot="$work/machine"
    unpack_root "$(root_tarball bookworm "$bookworm_include")" "$mroot"
    systemd-machine-id-setup --root="$mroot" >/dev/null
    # Not /tmp: systemd mounts a tmpfs over it at boot.
    cp "$deb" "$mroot/root/"
    install -m 0755 "$devagent" "$mroot/usr/local/bin/felhom-devagent"
    cat >"$mroot/etc/systemd/system/devagent.service" <<'EOF'
[Unit]
Description=The stand-in Felhom agent (test-dist)
[Service]
EnvironmentFile=-/etc/devagent.args
ExecStart=/usr/local/bin/felhom-devagent --seconds 900 --port 8443 $DEVAGENT_ARGS
StandardOutput=truncate:/run/devagent.env
EOF
    # A filesystem of its own for the fsfreeze hook to freeze: never one the host needs.
    truncate -s 64M "$work/srv.img"
    mkfs.ext4 -q -F "$work/srv.img"
    mkdir -p "$work/srv"
    mount -o loop "$work/srv.img" "$work/srv" && mounts+=("$work/srv")
    frozen_candidate="$work/srv"

    # nspawn runs in cgroups of its own (named after the machine), removed on exit.
    local hier path ctrl
    while IFS=: read -r _ ctrl path; do
        case $ctrl in
            name=systemd) hier=/sys/fs/cgroup/systemd ;;
            "") if [ -d /sys/fs/cgroup/unified ]; then hier=/sys/fs/cgroup/unified; else hier=/sys/fs/cgroup; fi ;;
            *) continue ;;
        esac
        [ -d "$hier$path" ] && cgroups+=("${hier}${path%/}/$machine")
    done </proc/self/cgroup
    (
        for dir in "${cgroups[@]}"; do mkdir -p "$dir" && echo "$BASHPID" >"$dir/cgroup.procs"; done
        exec setsid systemd-nspawn -D "$mroot" -M "$machine" --register=no --keep-unit \
            --private-network -b --console=pipe --bind="$work/srv:/srv" </dev/null >"$work/nspawn.log" 2>&1
    ) &
    nspawn_pid=$!
    wait_for "the container's init" 30 pgrep -P "$nspawn_pid"
    leader=$(pgrep -P "$nspawn_pid" | head -1)
    local state
    state=$(T=120 in_machine systemctl is-system-running --wait) || true
    printf '   container %s (nspawn %s, init %s): %s\n' "$machine" "$nspawn_pid" "$leader" "$state" >&2
    [ "$state" = running ] || in_machine systemctl --failed --no-pager >&2 || true

    check "dpkg -i under a running systemd" in_machine_slow dpkg -i "/root/$(basename "$deb")"
    check "installing enabled nothing" \
        test "$(in_machine systemctl is-enabled felhom-backup.timer felhom-metrics.timer | paste -sd' ')" = "disabled disabled"
    check "installing started nothing" \
        test "$(in_machine systemctl is-active felhom-backup.timer felhom-metrics.timer felhom-backup.service | paste -sd' ')" = "inactive inactive inactive"
    check "systemd-analyze verify: the shipped units are clean" \
        test -z "$(in_machine systemd-analyze verify felhom-backup.service felhom-backup.timer felhom-metrics.service felhom-metrics.timer 2>&1)"

    part "systemd: configure, enable the timer, a backup with hooks"
    # The README's three configuration steps, against the stand-in agent; the hooks are the
    # shipped fsfreeze example and a hook that logs its calls and its environment.
    agent "--backup-seconds 2"
    install -m 0755 "$mroot/usr/share/doc/felhom-agentctl/examples/hooks/90-fsfreeze" \
        "$mroot/etc/felhom/backup-hooks.d/90-fsfreeze"
    cat >"$mroot/etc/felhom/backup-hooks.d/50-log" <<'EOF'
#!/bin/sh
echo "$1 ${FELHOM_BACKUP_PHASE:-} ${FELHOM_BACKUP_JOB_ID:-}" >>/var/log/felhom-hooks.log
env >"/var/log/felhom-hook-env.$1.$$"
EOF
    chmod 0755 "$mroot/etc/felhom/backup-hooks.d/50-log"
    in_machine systemctl enable --now felhom-backup.timer >/dev/null 2>&1
    check "the timer is listed" timer_listed
    # Stopped (still enabled) for the rest: a run it fires at the ten-minute mark would
    # interleave with the test's own.
    in_machine systemctl stop felhom-backup.timer

    : >"$mroot/var/log/felhom-hooks.log"
    T=180 in_machine systemctl start felhom-backup.service || true
    check "a due backup: result and exit status success 0 ($(unit_show felhom-backup.service))" \
        test "$(unit_show felhom-backup.service)" = "success 0"
    check "the hooks froze, then thawed once ($(hooks_log | cut -d' ' -f1,2 | paste -sd,))" \
        test "$(hooks_log | cut -d' ' -f1 | paste -sd,)" = "freeze,thaw"
    local journal
    journal=$(in_machine journalctl -u felhom-backup.service -o cat --no-pager)
    check "the fsfreeze hook froze and thawed /srv (journal)" \
        sh -c 'printf "%s\n" "$1" | grep -q "fsfreeze: froze /srv" && printf "%s\n" "$1" | grep -q "fsfreeze: thawed /srv"' sh "$journal"
    check "/srv is writable after the run" srv_writable

    T=120 in_machine systemctl start felhom-backup.service || true
    check "nothing due: result and exit status success 0, no hook ran" \
        test "$(unit_show felhom-backup.service) $(count_in_hooks_log freeze)" = "success 0 1"

    part "systemd: the hardening drop-in (examples), measured and run"
    local score_before score_after
    score_before=$(in_machine systemd-analyze security --no-pager felhom-backup.service | tail -1)
    mkdir -p "$mroot/etc/systemd/system/felhom-backup.service.d"
    cp "$mroot/usr/share/doc/felhom-agentctl/examples/systemd/optional/hardening.conf" \
        "$mroot/etc/systemd/system/felhom-backup.service.d/"
    in_machine systemctl daemon-reload
    score_after=$(in_machine systemd-analyze security --no-pager felhom-backup.service | tail -1)
    printf '   systemd-analyze security felhom-backup.service: %s; with hardening.conf: %s\n' \
        "${score_before##*: }" "${score_after##*: }" >&2
    agent "--backup-seconds 2"
    : >"$mroot/var/log/felhom-hooks.log"
    T=180 in_machine systemctl start felhom-backup.service || true
    check "hardened: a due backup succeeds, the hooks froze and thawed ($(unit_show felhom-backup.service); $(hooks_log | cut -d' ' -f1 | paste -sd,))" \
        test "$(unit_show felhom-backup.service) $(hooks_log | cut -d' ' -f1 | paste -sd,)" = "success 0 freeze,thaw"
    rm -r "$mroot/etc/systemd/system/felhom-backup.service.d"
    in_machine systemctl daemon-reload

    part "systemd: systemctl stop during a long backup"
    long_run_started
    T=120 in_machine systemctl stop felhom-backup.service || true
    check "stopped mid-backup: thawed exactly once ($(hooks_log | cut -d' ' -f1,2 | paste -sd,))" \
        test "$(count_in_hooks_log freeze) $(count_in_hooks_log thaw)" = "1 1"
    check "stopped mid-backup: exit status 143, as the README says ($(unit_show felhom-backup.service))" \
        test "$(unit_show felhom-backup.service)" = "exit-code 143"
    check "/srv is writable after the stop" srv_writable

    part "systemd: kill -9 during a long backup (ExecStopPost= backup thaw)"
    if in_machine felhom-agentctl backup thaw --help >/dev/null 2>&1; then
        long_run_started
        in_machine systemctl kill --kill-whom=main --signal=KILL felhom-backup.service
        wait_for "the unit to stop after kill -9" 120 backup_unit_stopped
        check "killed mid-backup: thawed exactly once, by ExecStopPost= ($(hooks_log | cut -d' ' -f1,2 | paste -sd,))" \
            test "$(count_in_hooks_log freeze) $(count_in_hooks_log thaw)" = "1 1"
        check "/srv is writable after the kill" srv_writable
    else
        pending thaw-on-kill "this felhom-agentctl has no 'backup thaw' (issue 15): kill -9 not tested"
    fi

    part "systemd: a failing run, the journal, the token"
    agent "--fault status:500"
    # With the OnFailure= example installed: a failure must leave a lasting "crit" entry.
    mkdir -p "$mroot/etc/systemd/system/felhom-backup.service.d"
    cp "$mroot/usr/share/doc/felhom-agentctl/examples/systemd/optional/on-failure.conf" \
        "$mroot/etc/systemd/system/felhom-backup.service.d/"
    cp "$mroot/usr/share/doc/felhom-agentctl/examples/systemd/optional/felhom-backup-failed@.service" \
        "$mroot/etc/systemd/system/"
    in_machine systemctl daemon-reload
    T=120 in_machine systemctl start felhom-backup.service >/dev/null 2>&1 || true
    check "the agent failing: exit status 1, as the README says ($(unit_show felhom-backup.service))" \
        test "$(unit_show felhom-backup.service)" = "exit-code 1"
    wait_for "felhom-backup-failed@ (OnFailure=) to log" 30 crit_logged
    check "OnFailure= example: the failure is in journalctl -p crit" crit_logged
    local errors
    errors=$(in_machine journalctl -u felhom-backup.service -p err -o cat --no-pager | grep 'HTTP 500' || true)
    if [ -n "$errors" ]; then
        check "journalctl -p err shows the tool's error without the program-name prefix" \
            sh -c '! printf "%s\n" "$1" | grep -q "^felhom-agentctl: "' sh "$errors"
    else
        pending journal-priorities "the tool's errors are not in journalctl -p err (no sd-daemon prefixes yet)"
    fi
    local leaks=0 token
    in_machine journalctl -o export --no-pager >"$work/journal.export"
    for token in "${tokens[@]}"; do
        grep -qaF -- "$token" "$work/journal.export" && leaks=$((leaks + 1))
        grep -qaF -- "$token" "$mroot"/var/log/felhom-hook-env.* && leaks=$((leaks + 1))
    done
    check "the token is in no journal field and no hook's environment (${#tokens[@]} tokens, $(ls "$mroot"/var/log/felhom-hook-env.* | wc -l) hook environments)" \
        test "$leaks" -eq 0
    check "no hook's environment names a token" \
        sh -c "! grep -q '^FELHOM_AGENT_TOKEN' '$mroot'/var/log/felhom-hook-env.*"

    part "systemd: metrics for the textfile collector"
    agent ""
    mkdir -p "$mroot/var/lib/prometheus/node-exporter"
    T=60 in_machine systemctl start felhom-metrics.service || true
    check "felhom-metrics.service: success 0 ($(unit_show felhom-metrics.service))" \
        test "$(unit_show felhom-metrics.service)" = "success 0"
    # Every series carries the agent's label (two agents' files must not collide).
    check "felhom-metrics.service wrote felhom_agent_up 1" \
        grep -Eq '^felhom_agent_up\{agent="[^"]+"\} 1$' "$mroot/var/lib/prometheus/node-exporter/felhom.prom"

    part "systemd: upgrade and removal"
    in_machine systemctl start felhom-backup.timer
    echo '# changed' >>"$mroot/lib/systemd/system/felhom-backup.service"
    check "dpkg -i of the package again (an upgrade)" in_machine_slow dpkg -i "/root/$(basename "$deb")"
    check "an upgrade reloads systemd (NeedDaemonReload=no)" \
        test "$(in_machine systemctl show -p NeedDaemonReload --value felhom-backup.service)" = no
    check "an upgrade keeps the timer enabled and running" \
        test "$(in_machine systemctl is-enabled felhom-backup.timer) $(in_machine systemctl is-active felhom-backup.timer)" = "enabled active"
    check "dpkg -r under a running systemd" in_machine_slow dpkg -r felhom-agentctl
    check "removal stops the timer" \
        test "$(in_machine systemctl is-active felhom-backup.timer || true)" = inactive
    check "removal disables the timer" \
        test ! -L "$mroot/etc/systemd/system/timers.target.wants/felhom-backup.timer"
    check "removal keeps the admin's token and settings" \
        test -f "$mroot/etc/felhom/agent.token" -a -f "$mroot/etc/felhom/agent.env"
}
