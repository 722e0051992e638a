#!/usr/bin/env bash
# tests/package: the Debian package and the files it ships, one ctest case
# per step (tests/package/CMakeLists.txt):
#   lint SRC BIN FAKE CTL unit, init script, maintainer scripts, defaults,
#                         completions and man pages (irqbpfd's and
#                         irqbpfctl's, CTL), from the source tree
#   initscript SRC FAKE   the init script's start/status/reload/restart/stop
#                         against a stand-in daemon in a temporary directory
#   sandbox SRC BIN       the measuring path under the unit's capabilities,
#                         its syscalls against the unit's SystemCallFilter=
#   symbols BIN SIM       nm: irqbpfd defines no irqbpfd::sim symbol (the
#                         simulator and irqbalance runner are irqbpfd-sim's)
#   build OUTDIR          cpack: the .deb from this build tree
#   contents DEB SRC      dpkg -c: every file, owner and mode; stripped binary
#   control DEB VERSION   dpkg-deb -f fields, Depends, conffiles, scripts
#   install DEB VERSION   dpkg -i with starting forbidden, check, dpkg -P
# Exit 77 = skipped (ctest SKIP_RETURN_CODE), with the reason on stdout.
# The install step never starts the daemon: a policy-rc.d (exit 101) denies
# every start while the package is installed, and is restored afterwards.
set -uo pipefail

step="$1"
shift

fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
ok() { echo "ok: $*"; }
skip() {
  echo "SKIP: $*"
  exit 77
}
finish() {
  if [ "$fails" -gt 0 ]; then
    echo "$step: $fails check(s) failed"
    exit 1
  fi
  echo "$step: all checks passed"
  exit 0
}
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (scripts/install-deps.sh installs it)"
  done
}

# checkbashisms: on PATH (devscripts), or the copy install-deps.sh unpacks
# from devscripts without installing its ~40 dependencies.
find_checkbashisms() {
  if command -v checkbashisms >/dev/null 2>&1; then
    command -v checkbashisms
  elif [ -x /var/cache/irqbpfd/devscripts/checkbashisms ]; then
    echo /var/cache/irqbpfd/devscripts/checkbashisms
  fi
}

# The expected payload: path, mode, and whether dpkg treats it as a conffile.
readonly expected_files=(
  "./etc/default/irqbpfd -rw-r--r-- conffile"
  "./etc/init.d/irqbpfd -rwxr-xr-x conffile"
  "./etc/irqbpfd.conf -rw-r--r-- conffile"
  "./lib/systemd/system/irqbpfd.service -rw-r--r-- -"
  "./usr/sbin/irqbpfd -rwxr-xr-x -"
  "./usr/sbin/irqbpfctl -rwxr-xr-x -"
  "./usr/share/bash-completion/completions/irqbpfd -rw-r--r-- -"
  "./usr/share/bash-completion/completions/irqbpfctl -rw-r--r-- -"
  "./usr/share/doc/irqbpfd/README.md -rw-r--r-- -"
  "./usr/share/man/man8/irqbpfd.8.gz -rw-r--r-- -"
  "./usr/share/man/man8/irqbpfctl.8.gz -rw-r--r-- -"
)

man_warnings() {
  LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null
}

# Option names in CLI11's --help: "  --collector TEXT:{...}", "  -h,--help ...".
help_flag_names() {
  sed -n 's/^  *\(-[a-zA-Z],\)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p'
}

# What the completion offers for a command line ending in WORDS, one a line
# (complete_ctl_words: irqbpfctl's).
complete_words() {
  local file="$1"
  shift
  # shellcheck disable=SC2016
  bash -c 'source "$1"; shift; COMP_WORDS=(irqbpfd "$@"); COMP_CWORD=$#; _irqbpfd; printf "%s\n" "${COMPREPLY[@]}"' \
    bash "$file" "$@"
}
complete_ctl_words() {
  local file="$1"
  shift
  # shellcheck disable=SC2016
  bash -c 'source "$1"; shift; COMP_WORDS=(irqbpfctl "$@"); COMP_CWORD=$#; _irqbpfctl; printf "%s\n" "${COMPREPLY[@]}"' \
    bash "$file" "$@"
}

# irqbpfctl's completion and man page against its --help and each
# subcommand's: the same flags, every one documented.
lint_irqbpfctl() {
  local pkg="$1" ctl="$2" page="$3"
  local comp="$pkg/irqbpfctl.bash-completion"
  if bash -n "$comp"; then ok "bash -n irqbpfctl completion"; else fail "bash -n irqbpfctl completion"; fi
  local got
  got="$(complete_ctl_words "$comp" top --sort "" | tr '\n' ' ')"
  [ "$got" = "rate handler softirq load irq " ] && ok "irqbpfctl completion: --sort values" \
    || fail "irqbpfctl completion: --sort gave '$got'"
  got="$(complete_ctl_words "$comp" "" | tr '\n' ' ')"
  [ "$got" = "status irqs cpus plan pin unpin ban unban rescan top " ] && ok "irqbpfctl completion: commands" \
    || fail "irqbpfctl completion: commands gave '$got'"
  local help_flags comp_flags missing sub
  help_flags="$("$ctl" --help 2>&1 | help_flag_names)"
  comp_flags="$(complete_ctl_words "$comp" --)"
  missing="$(comm -3 <(sort -u <<<"$help_flags") <(sort -u <<<"$comp_flags") | tr -s '\t\n' '  ')"
  [ -z "$missing" ] && ok "irqbpfctl completion: flags = irqbpfctl --help" \
    || fail "irqbpfctl completion vs --help (left: help only, right: completion only): $missing"
  # A subcommand offers its own flags and the connection flags it passes
  # through to irqbpfctl itself.
  local global='--url
--port
--socket
--token-file'
  local all_flags="$help_flags"
  for sub in status irqs cpus plan pin unpin ban unban rescan top; do
    help_flags="$("$ctl" "$sub" --help 2>&1 | help_flag_names)"
    all_flags+=$'\n'"$help_flags"
    comp_flags="$(complete_ctl_words "$comp" "$sub" --)"
    missing="$(comm -3 <(printf '%s\n%s\n' "$help_flags" "$global" | sort -u) <(sort -u <<<"$comp_flags") | tr -s '\t\n' '  ')"
    [ -z "$missing" ] && ok "irqbpfctl completion: $sub's flags = irqbpfctl $sub --help" \
      || fail "irqbpfctl completion vs $sub --help (left: help only, right: completion only): $missing"
  done
  if [ ! -f "$page" ]; then
    fail "no configured man page at $page"
    return
  fi
  local warnings
  warnings="$(man_warnings "$page")"
  [ -z "$warnings" ] && ok "man --warnings irqbpfctl.8: clean" || fail "man --warnings irqbpfctl.8: $warnings"
  local section
  for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS FILES "EXIT STATUS" "SEE ALSO"; do
    grep -q "^\.SH \"\?$section\"\?$" "$page" || fail "irqbpfctl man page: no $section section"
  done
  local flag undocumented=""
  while IFS= read -r flag; do
    [ -n "$flag" ] && ! grep -qF -- "$(sed 's/-/\\-/g' <<<"$flag")" "$page" && undocumented+="$flag "
  done < <(sort -u <<<"$all_flags")
  for sub in status irqs cpus plan pin unpin ban unban rescan top; do
    grep -Eq "^\.B[IR]? (.*[ |\"])?$sub([ |\"]|\$)" "$page" || undocumented+="$sub "
  done
  [ -z "$undocumented" ] && ok "irqbpfctl man page documents every command and option" \
    || fail "irqbpfctl man page lacks: $undocumented"
}

# ---------------------------------------------------------------------------
step_lint() {
  local src="$1" bin="$2" pkgbuild="$3" ctl="$4"
  bin="$(readlink -f "$bin")"
  local pkg="$src/scripts/packaging"
  need systemd-analyze man dash

  local f
  for f in "$pkg/irqbpfd.init" "$pkg/deb/postinst" "$pkg/deb/prerm" "$pkg/deb/postrm" "$pkg/irqbpfd.default"; do
    if sh -n "$f" && dash -n "$f"; then ok "sh -n ${f#"$src"/}"; else fail "sh -n ${f#"$src"/}"; fi
  done
  local cb
  cb="$(find_checkbashisms)"
  if [ -n "$cb" ]; then
    for f in "$pkg/irqbpfd.init" "$pkg/deb/postinst" "$pkg/deb/prerm" "$pkg/deb/postrm"; do
      if out="$("$cb" "$f" 2>&1)" && [ -z "$out" ]; then ok "checkbashisms ${f#"$src"/}"; else fail "checkbashisms ${f#"$src"/}: $out"; fi
    done
  else
    echo "note: checkbashisms not found, skipped (scripts/install-deps.sh unpacks it)"
  fi
  for f in "$pkg/deb/postinst" "$pkg/deb/prerm" "$pkg/deb/postrm" "$pkg/irqbpfd.init"; do
    [ -x "$f" ] && ok "${f#"$src"/} is executable" || fail "${f#"$src"/} is not executable"
  done

  # The LSB header update-rc.d and insserv read.
  local key
  for key in Provides Required-Start Required-Stop Default-Start Default-Stop Short-Description; do
    grep -q "^# $key:" "$pkg/irqbpfd.init" || fail "init script: no '# $key:' in the LSB header"
  done
  grep -q '^# Default-Start: *2 3 4 5$' "$pkg/irqbpfd.init" || fail "init script: Default-Start is not 2 3 4 5"
  grep -q '^# Default-Stop: *0 1 6$' "$pkg/irqbpfd.init" || fail "init script: Default-Stop is not 0 1 6"
  local action
  for action in start stop status restart force-reload reload; do
    grep -Eq "^[[:space:]]*([a-z|-]*\|)?$action(\|[a-z|-]*)?\)" "$pkg/irqbpfd.init" || fail "init script: no '$action' action"
  done

  # /etc/default/irqbpfd is read by sh and by systemd's EnvironmentFile=:
  # only NAME="literal" lines, and sourcing it sets IRQBPFD_ARGS="".
  local bad
  bad="$(grep -Ev '^[[:space:]]*(#.*)?$' "$pkg/irqbpfd.default" | grep -Ev '^[A-Z_][A-Z0-9_]*="[^"$`\\]*"$')"
  [ -z "$bad" ] && ok "defaults: plain NAME=\"value\" lines" || fail "defaults: lines systemd would read differently: $bad"
  # shellcheck disable=SC2016
  [ "$(sh -c '. "$1"; echo "[$IRQBPFD_ARGS]"' sh "$pkg/irqbpfd.default")" = "[]" ] \
    && ok "defaults: IRQBPFD_ARGS is empty" || fail "defaults: IRQBPFD_ARGS is not empty"

  # Completion: valid bash, completes the values of the option flags.
  if bash -n "$pkg/irqbpfd.bash-completion"; then ok "bash -n completion"; else fail "bash -n completion"; fi
  local got
  # shellcheck disable=SC2016
  got="$(bash -c 'source "$1"; COMP_WORDS=(irqbpfd --collector ""); COMP_CWORD=2; _irqbpfd; echo "${COMPREPLY[*]}"' \
    bash "$pkg/irqbpfd.bash-completion")"
  [ "$got" = "auto bpf proc" ] && ok "completion: --collector values" || fail "completion: --collector gave '$got'"
  # shellcheck disable=SC2016
  got="$(bash -c 'source "$1"; COMP_WORDS=(irqbpfd --log-level w); COMP_CWORD=2; _irqbpfd; echo "${COMPREPLY[*]}"' \
    bash "$pkg/irqbpfd.bash-completion")"
  [ "$got" = "warning" ] && ok "completion: --log-level values" || fail "completion: --log-level gave '$got'"

  # Completion and binary offer the same flags. The daemon's own flags
  # (--daemon, --config, ...) are checked once the binary has them; until
  # the daemon lands, its --help lists only the report's.
  local help_flags comp_flags missing
  help_flags="$("$bin" simulate --help 2>&1 | help_flag_names)"
  comp_flags="$(complete_words "$pkg/irqbpfd.bash-completion" simulate --)"
  missing="$(comm -3 <(sort -u <<<"$help_flags") <(sort -u <<<"$comp_flags") | tr -s '\t\n' '  ')"
  [ -z "$missing" ] && ok "completion: simulate's flags = irqbpfd simulate --help (irqbpfd-sim's)" \
    || fail "completion vs simulate --help (left: help only, right: completion only): $missing"
  help_flags="$("$bin" --help 2>&1 | help_flag_names)"
  comp_flags="$(complete_words "$pkg/irqbpfd.bash-completion" --)"
  if grep -qx -- --daemon <<<"$help_flags"; then
    missing="$(comm -3 <(sort -u <<<"$help_flags") <(sort -u <<<"$comp_flags") | tr -s '\t\n' '  ')"
    [ -z "$missing" ] && ok "completion: flags = irqbpfd --help" \
      || fail "completion vs irqbpfd --help (left: help only, right: completion only): $missing"
    local flag
    for flag in --daemon --pidfile --lock-file; do
      grep -qx -- "$flag" <<<"$help_flags" || fail "the unit or init script pass $flag, irqbpfd --help lacks it"
    done
  else
    missing="$(comm -23 <(sort -u <<<"$help_flags") <(sort -u <<<"$comp_flags") | tr '\n' ' ')"
    [ -z "$missing" ] && ok "completion: has every flag irqbpfd --help lists" || fail "completion lacks: $missing"
    echo "note: irqbpfd has no --daemon yet: the daemon's flags are not checked against --help"
  fi

  # The man page as configured by this build: renders without a warning.
  local page="$pkgbuild/irqbpfd.8"
  if [ ! -f "$page" ]; then
    fail "no configured man page at $page"
  else
    local warnings
    warnings="$(man_warnings "$page")"
    [ -z "$warnings" ] && ok "man --warnings irqbpfd.8: clean" || fail "man --warnings irqbpfd.8: $warnings"
    local section
    for section in NAME SYNOPSIS DESCRIPTION OPTIONS CONFIGURATION SIGNALS FILES ENVIRONMENT "EXIT STATUS" PRIVILEGES "SEE ALSO"; do
      grep -q "^\.SH \"\?$section\"\?$" "$page" || fail "man page: no $section section"
    done
    grep -q 'irqbalance (1)' "$page" || fail "man page: SEE ALSO lacks irqbalance(1)"
    # Every option irqbpfd --help lists is documented ("\-\-dry\-run" in roff).
    local flag undocumented=""
    while IFS= read -r flag; do
      [ -n "$flag" ] && ! grep -qF -- "$(sed 's/-/\\-/g' <<<"$flag")" "$page" && undocumented+="$flag "
    done <<<"$("$bin" --help 2>&1 | help_flag_names)"
    [ -z "$undocumented" ] && ok "man page documents every option of irqbpfd --help" \
      || fail "man page lacks: $undocumented"
  fi
  lint_irqbpfctl "$pkg" "$(readlink -f "$ctl")" "$pkgbuild/irqbpfctl.8"

  # The unit, with ExecStart pointed at this build's binary (the installed
  # copy is verified by the install step, man page included).
  local tmp
  tmp="$(mktemp -d)"
  sed "s#/usr/sbin/irqbpfd#$bin#" "$pkg/irqbpfd.service" >"$tmp/irqbpfd.service"
  local out rc
  out="$(systemd-analyze verify --man=no "$tmp/irqbpfd.service" 2>&1)"
  rc=$?
  [ "$rc" -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify irqbpfd.service: clean" \
    || fail "systemd-analyze verify (rc $rc): $out"
  rm -rf "$tmp"
  local want
  for want in 'Type=notify' 'NotifyAccess=main' 'ExecReload=/bin/kill -HUP $MAINPID' 'Conflicts=irqbalance.service' \
    'ProtectKernelTunables=no' 'CapabilityBoundingSet=CAP_BPF CAP_PERFMON' 'EnvironmentFile=-/etc/default/irqbpfd'; do
    grep -qxF "$want" "$pkg/irqbpfd.service" || fail "unit: no '$want'"
  done
  grep -Eq '^ExecStart=/usr/sbin/irqbpfd .*\$IRQBPFD_ARGS$' "$pkg/irqbpfd.service" || fail "unit: ExecStart lacks \$IRQBPFD_ARGS"
  finish
}

# ---------------------------------------------------------------------------
# Alive and not a zombie (a PID 1 that does not reap, as in some containers,
# leaves killed daemons as zombies, which kill -0 still finds).
alive() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

step_initscript() {
  local src="$1" fake="$2"
  need start-stop-daemon
  [ -r /lib/lsb/init-functions ] || skip "/lib/lsb/init-functions missing (sysvinit-utils)"
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "[ -f '$tmp/irqbpfd.pid' ] && kill \$(cat '$tmp/irqbpfd.pid') 2>/dev/null; rm -rf '$tmp'" EXIT

  cp "$fake" "$tmp/irqbpfd"
  cat >"$tmp/default" <<'EOF'
IRQBPFD_ARGS="--interval 5 --dry-run"
IRQBALANCE_BANNED_CPULIST="1"
EOF
  sed -e "s#^DAEMON=/usr/sbin/irqbpfd\$#DAEMON=$tmp/irqbpfd#" \
    -e "s#^PIDFILE=/run/irqbpfd.pid\$#PIDFILE=$tmp/irqbpfd.pid#" \
    -e "s#^RUNDIR=/run/irqbpfd\$#RUNDIR=$tmp/run#" \
    -e "s#^DEFAULTS=/etc/default/irqbpfd\$#DEFAULTS=$tmp/default#" \
    "$src/scripts/packaging/irqbpfd.init" >"$tmp/init"
  chmod 755 "$tmp/init"
  local n
  n="$(grep -cE "^(DAEMON|PIDFILE|RUNDIR|DEFAULTS)=$tmp/" "$tmp/init")"
  [ "$n" -eq 4 ] || { fail "could not point the init script at $tmp ($n of 4 paths)"; finish; }
  export FAKE_DAEMON_LOG="$tmp/log"
  local init="$tmp/init" rc pid pid2

  "$init" status >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 3 ] && ok "status before start: 3" || fail "status before start: $rc, want 3"

  "$init" start
  rc=$?
  [ "$rc" -eq 0 ] && ok "start: 0" || fail "start: $rc"
  pid="$(cat "$tmp/irqbpfd.pid" 2>/dev/null)"
  [ -n "$pid" ] && alive "$pid" && ok "start: daemon runs as pid $pid" || fail "start: no daemon"
  grep -qx "args: --daemon --pidfile $tmp/irqbpfd.pid --lock-file $tmp/run/irqbpfd.lock --interval 5 --dry-run" "$tmp/log" \
    && ok "start: --daemon --pidfile --lock-file, then IRQBPFD_ARGS" || fail "start: arguments were: $(grep args: "$tmp/log")"
  grep -qx "IRQBALANCE_BANNED_CPULIST=1" "$tmp/log" \
    && ok "start: IRQBALANCE_BANNED_CPULIST exported" || fail "start: IRQBALANCE_BANNED_CPULIST not exported"
  [ -d "$tmp/run" ] && ok "start: runtime dir created" || fail "start: no runtime dir"

  "$init" start
  rc=$?
  [ "$rc" -eq 0 ] && [ "$(grep -c '^args:' "$tmp/log")" -eq 1 ] && ok "start when running: 0, no second daemon" \
    || fail "start when running: rc $rc, $(grep -c '^args:' "$tmp/log") daemons started"

  "$init" status >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 0 ] && ok "status while running: 0" || fail "status while running: $rc"

  "$init" reload >/dev/null 2>&1
  rc=$?
  sleep 0.2
  [ "$rc" -eq 0 ] && grep -qx HUP "$tmp/log" && ok "reload: SIGHUP delivered" || fail "reload: rc $rc, log: $(cat "$tmp/log")"
  "$init" force-reload >/dev/null 2>&1
  rc=$?
  sleep 0.2
  [ "$rc" -eq 0 ] && [ "$(grep -cx HUP "$tmp/log")" -eq 2 ] && ok "force-reload: SIGHUP delivered" || fail "force-reload: rc $rc"

  "$init" restart >/dev/null 2>&1
  rc=$?
  pid2="$(cat "$tmp/irqbpfd.pid" 2>/dev/null)"
  [ "$rc" -eq 0 ] && [ -n "$pid2" ] && [ "$pid2" != "$pid" ] && ! alive "$pid" \
    && alive "$pid2" && ok "restart: new daemon $pid2, old one gone" || fail "restart: rc $rc, pids $pid -> $pid2"

  "$init" stop
  rc=$?
  [ "$rc" -eq 0 ] && ! alive "$pid2" && ok "stop: daemon gone" || fail "stop: rc $rc"
  [ ! -e "$tmp/irqbpfd.pid" ] && ok "stop: pid file removed" || fail "stop: pid file left"
  [ "$(grep -cx TERM "$tmp/log")" -eq 2 ] && ok "stop and restart: SIGTERM each" || fail "SIGTERMs: $(grep -cx TERM "$tmp/log")"

  "$init" stop
  rc=$?
  [ "$rc" -eq 0 ] && ok "stop when stopped: 0" || fail "stop when stopped: $rc"
  "$init" status >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 3 ] && ok "status after stop: 3" || fail "status after stop: $rc"
  "$init" reload >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 7 ] && ok "reload when stopped: 7" || fail "reload when stopped: $rc, want 7"
  "$init" bogus >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 3 ] && ok "unknown action: usage, 3" || fail "unknown action: $rc"

  # Removed but not purged: the binary is gone, the conffile stays.
  rm "$tmp/irqbpfd"
  "$init" start >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 0 ] && ok "start without the binary: 0, nothing run" || fail "start without the binary: $rc"
  "$init" status >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 4 ] && ok "status without the binary: 4" || fail "status without the binary: $rc"
  finish
}

# ---------------------------------------------------------------------------
# The unit's sandbox without systemd (PID 1 here is not systemd): the
# measuring path (`--once --dry-run --collector bpf`, read-only) run with
# the unit's CapabilityBoundingSet and NoNewPrivileges must still measure
# with BPF, and every system call it makes must pass the unit's
# SystemCallFilter=. Catches a capability or a syscall the daemon starts to
# need before a user's service dies of EPERM.

# Expands a SystemCallFilter= allow list (names and @groups) to names.
expand_syscalls() {
  local item
  for item in "$@"; do
    case "$item" in
      @*)
        systemd-analyze syscall-filter "$item" </dev/null 2>/dev/null | awk '/^ +[@a-z0-9_-]+$/ {print $1}' | while read -r sub; do
          expand_syscalls "$sub"
        done
        ;;
      *) echo "$item" ;;
    esac
  done
}

step_sandbox() {
  local src="$1" bin
  bin="$(readlink -f "$2")"
  local unit="$src/scripts/packaging/irqbpfd.service"
  [ "$(id -u)" -eq 0 ] || skip "not root: the BPF collector needs root"
  need strace setpriv systemd-analyze

  local caps bounding="-all" cap
  caps="$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")"
  for cap in $caps; do
    cap="${cap#CAP_}"
    bounding+=",+${cap,,}"
  done
  grep -qx 'NoNewPrivileges=yes' "$unit" || fail "unit: NoNewPrivileges=yes expected"
  local filters
  filters="$(sed -n 's/^SystemCallFilter=//p' "$unit")"
  grep -q '^~' <<<"$filters" && { fail "unit: a deny-list SystemCallFilter=~; extend this test"; finish; }
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  # shellcheck disable=SC2086
  expand_syscalls $filters | sort -u >"$tmp/allowed"
  [ "$(wc -l <"$tmp/allowed")" -gt 300 ] && ok "unit allows $(wc -l <"$tmp/allowed") system calls" \
    || fail "could not expand the unit's SystemCallFilter ($(wc -l <"$tmp/allowed") names)"

  local rc
  setpriv --no-new-privs --bounding-set="$bounding" --inh-caps=-all \
    strace -f -qq -c -o "$tmp/strace" "$bin" --once --dry-run --collector bpf --sample 0.5 --format json \
    >"$tmp/report.json" 2>"$tmp/stderr"
  rc=$?
  [ "$rc" -eq 0 ] && ok "--once --dry-run --collector bpf with only $caps and no_new_privs" \
    || fail "--collector bpf with only $caps (rc $rc): $(cat "$tmp/stderr")"
  grep -q '"collector": "bpf"' "$tmp/report.json" && ok "report measured with BPF" || fail "report not from BPF"
  awk 'NR > 2 && $NF !~ /^-/ && $NF != "total" {print $NF}' "$tmp/strace" | sort -u >"$tmp/used"
  echo "system calls made: $(tr '\n' ' ' <"$tmp/used")"
  local denied
  denied="$(comm -23 "$tmp/used" "$tmp/allowed" | tr '\n' ' ')"
  [ -z "$denied" ] && ok "all $(wc -l <"$tmp/used") system calls pass SystemCallFilter=" \
    || fail "SystemCallFilter= would refuse: $denied"
  finish
}

# ---------------------------------------------------------------------------
# The shipped binary carries neither the simulator nor the irqbalance runner
# (namespace irqbpfd::sim; ARCHITECTURE.md): `irqbpfd simulate` execs
# irqbpfd-sim, which is the check's control (nm does see its symbols).
step_symbols() {
  local bin="$1" sim="$2"
  need nm
  local syms n found
  if ! syms="$(nm -C --defined-only "$bin" 2>&1)"; then
    fail "nm $bin: $syms"
    finish
  fi
  n="$(grep -c 'irqbpfd::' <<<"$syms")"
  [ "$n" -gt 0 ] && ok "irqbpfd defines $n irqbpfd:: symbols" \
    || fail "no irqbpfd:: symbol in $bin (stripped?): nothing to check"
  found="$(grep -F 'irqbpfd::sim::' <<<"$syms" | head -5)"
  [ -z "$found" ] && ok "irqbpfd defines no irqbpfd::sim:: symbol" || fail "irqbpfd links the simulator: $found"
  n="$(nm -C --defined-only "$sim" 2>/dev/null | grep -cF 'irqbpfd::sim::')"
  [ "$n" -gt 0 ] && ok "control: irqbpfd-sim defines $n irqbpfd::sim:: symbols" \
    || fail "control: no irqbpfd::sim:: symbol in $sim, so the check above proves nothing"
  finish
}

# ---------------------------------------------------------------------------
step_build() {
  local outdir="$1"
  need cpack dpkg-deb dpkg-shlibdeps file
  rm -rf "$outdir"
  mkdir -p "$outdir"
  if ! cpack -G DEB -B "$outdir" >"$outdir/cpack.log" 2>&1; then
    cat "$outdir/cpack.log"
    fail "cpack failed"
    finish
  fi
  local debs=("$outdir"/irqbpfd_*.deb)
  [ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] && ok "built ${debs[0]}" || fail "expected one irqbpfd_*.deb in $outdir"
  finish
}

the_deb() {
  local debs=("$1"/irqbpfd_*.deb)
  [ -f "${debs[0]}" ] || { echo "FAIL: no .deb in $1 (the package.build test makes it)"; exit 1; }
  echo "${debs[0]}"
}

# ---------------------------------------------------------------------------
step_contents() {
  local deb src
  deb="$(the_deb "$1")"
  src="$2"
  need dpkg-deb file
  local listing
  listing="$(dpkg-deb -c "$deb")"
  echo "$listing"

  local entry path mode kind line
  local files=()
  for entry in "${expected_files[@]}"; do
    read -r path mode kind <<<"$entry"
    files+=("$path")
    line="$(awk -v p="$path" '$6 == p' <<<"$listing")"
    if [ -z "$line" ]; then
      fail "$path: not in the package"
      continue
    fi
    read -r m owner _ <<<"$line"
    [ "$m" = "$mode" ] && [ "$owner" = root/root ] && ok "$path $m $owner" || fail "$path: $m $owner, want $mode root/root"
  done
  # Nothing else but directories, each 0755 root/root.
  local extra
  extra="$(awk '$1 !~ /^d/ {print $6}' <<<"$listing" | grep -vxF -f <(printf '%s\n' "${files[@]}"))"
  [ -z "$extra" ] && ok "no unexpected files" || fail "unexpected files: $extra"
  extra="$(awk '$1 ~ /^d/ && ($1 != "drwxr-xr-x" || $2 != "root/root")' <<<"$listing")"
  [ -z "$extra" ] && ok "directories 0755 root/root" || fail "odd directories: $extra"

  # The payload as installed: a stripped binary, a gzipped page, the unit
  # and scripts exactly as in the source tree.
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  dpkg-deb -x "$deb" "$tmp"
  local prog warnings
  for prog in irqbpfd irqbpfctl; do
    file -b "$tmp/usr/sbin/$prog" | grep -q ', stripped' && ok "$prog is stripped" || fail "$prog is not stripped: $(file -b "$tmp/usr/sbin/$prog")"
    gzip -t "$tmp/usr/share/man/man8/$prog.8.gz" && ok "$prog.8 is gzip" || fail "$prog.8 is not gzip"
    warnings="$(man_warnings "$tmp/usr/share/man/man8/$prog.8.gz")"
    [ -z "$warnings" ] && ok "packaged $prog.8 renders cleanly" || fail "packaged $prog.8: $warnings"
  done
  local pair
  for pair in "lib/systemd/system/irqbpfd.service:irqbpfd.service" "etc/init.d/irqbpfd:irqbpfd.init" \
    "etc/default/irqbpfd:irqbpfd.default" "etc/irqbpfd.conf:irqbpfd.conf" \
    "usr/share/bash-completion/completions/irqbpfd:irqbpfd.bash-completion" \
    "usr/share/bash-completion/completions/irqbpfctl:irqbpfctl.bash-completion"; do
    cmp -s "$tmp/${pair%%:*}" "$src/scripts/packaging/${pair##*:}" && ok "${pair%%:*} = ${pair##*:}" \
      || fail "${pair%%:*} differs from scripts/packaging/${pair##*:}"
  done
  finish
}

# ---------------------------------------------------------------------------
step_control() {
  local deb version
  deb="$(the_deb "$1")"
  version="$2"
  need dpkg-deb dpkg-query dpkg
  dpkg-deb -I "$deb"

  local field want got
  for field in "Package=irqbpfd" "Version=$version-1" "Architecture=$(dpkg --print-architecture)" \
    "Section=admin" "Priority=optional"; do
    want="${field#*=}"
    got="$(dpkg-deb -f "$deb" "${field%%=*}")"
    [ "$got" = "$want" ] && ok "${field%%=*}: $got" || fail "${field%%=*}: '$got', want '$want'"
  done
  for field in Maintainer Description; do
    [ -n "$(dpkg-deb -f "$deb" "$field")" ] && ok "$field set" || fail "$field empty"
  done
  for field in Conflicts Breaks Replaces; do
    [ -z "$(dpkg-deb -f "$deb" "$field")" ] && ok "no $field (irqbalance stays installable)" || fail "$field is set"
  done

  # Depends: from dpkg-shlibdeps (the libraries irqbpfd and irqbpfctl link)
  # plus procps;
  # each a package Debian knows, installed here since the build linked it.
  local depends
  depends="$(dpkg-deb -f "$deb" Depends)"
  echo "Depends: $depends"
  [ -n "$depends" ] || fail "Depends is empty"
  local lib
  for lib in libc6 libstdc++6 libbpf1 libhwloc15 libfmt9 libcpp-httplib0.11 libncursesw6 procps; do
    [[ ", $depends," == *", $lib "* || ", $depends," == *", $lib,"* ]] && ok "Depends names $lib" || fail "Depends lacks $lib"
  done
  local dep name
  while IFS= read -r dep; do
    name="${dep%% *}"
    name="${name%%:*}"
    [[ "$name" =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || { fail "Depends: odd entry '$dep'"; continue; }
    dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed' \
      || fail "Depends: $name is not an installed package"
  done < <(tr ',' '\n' <<<"$depends" | sed 's/^ *//' | grep -v '|')

  # conffiles: exactly the /etc files.
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  dpkg-deb -e "$deb" "$tmp"
  got="$(sort "$tmp/conffiles" 2>/dev/null)"
  want="$(printf '%s\n' /etc/default/irqbpfd /etc/init.d/irqbpfd /etc/irqbpfd.conf)"
  [ "$got" = "$want" ] && ok "conffiles: $(tr '\n' ' ' <<<"$got")" || fail "conffiles: '$got', want '$want'"
  local script
  for script in postinst prerm postrm; do
    if [ -f "$tmp/$script" ] && [ "$(stat -c %a "$tmp/$script")" = 755 ] && sh -n "$tmp/$script"; then
      ok "$script: 0755, sh -n clean"
    else
      fail "$script: missing, not 0755 or not valid sh"
    fi
  done
  grep -q 'deb-systemd-helper enable' "$tmp/postinst" || fail "postinst: does not enable the unit"
  grep -q 'update-rc.d irqbpfd defaults' "$tmp/postinst" || fail "postinst: does not register the init script"
  grep -q 'invoke-rc.d' "$tmp/postinst" && grep -q 'deb-systemd-invoke' "$tmp/postinst" \
    || fail "postinst: starts the daemon other than through invoke-rc.d/deb-systemd-invoke"
  grep -q 'update-rc.d irqbpfd remove' "$tmp/postrm" || fail "postrm: does not unregister the init script"
  grep -q 'deb-systemd-helper purge' "$tmp/postrm" || fail "postrm: does not purge the unit's state"
  finish
}

# ---------------------------------------------------------------------------
# Leaves the machine as it found it, even when interrupted: the package is
# purged (while starting is still forbidden) and policy-rc.d put back. A run
# killed outright leaves our policy-rc.d, which the next run recognises by
# its marker and undoes from the saved copy.
readonly policy=/usr/sbin/policy-rc.d
readonly state_dir=/var/lib/irqbpfd-package-test
readonly marker="# irqbpfd tests/package: deny every start"

restore_policy() {
  if [ -e "$state_dir/policy-rc.d.orig" ]; then
    mv -f "$state_dir/policy-rc.d.orig" "$policy"
  elif [ -e "$state_dir/no-policy-rc.d" ]; then
    rm -f "$policy"
  fi
  rm -f "$state_dir/no-policy-rc.d"
  rmdir "$state_dir" 2>/dev/null || true
}

install_policy() {
  if [ -e "$policy" ] && grep -qxF "$marker" "$policy"; then
    echo "note: a previous run left its policy-rc.d; restoring the original first"
    restore_policy
  fi
  mkdir -p "$state_dir"
  if [ -e "$policy" ] || [ -L "$policy" ]; then
    cp -a "$policy" "$state_dir/policy-rc.d.orig"
  else
    : >"$state_dir/no-policy-rc.d"
  fi
  printf '#!/bin/sh\n%s\nexit 101\n' "$marker" >"$policy.irqbpfd-test"
  chmod 755 "$policy.irqbpfd-test"
  mv -f "$policy.irqbpfd-test" "$policy"
}

# dpkg refuses to run while apt or another dpkg holds its lock: wait for it.
dpkg_locked() {
  local out rc tries=0
  while :; do
    out="$(DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold "$@" 2>&1)"
    rc=$?
    if [ "$rc" -ne 0 ] && grep -qi 'lock' <<<"$out" && [ "$tries" -lt 60 ]; then
      tries=$((tries + 1))
      sleep 1
      continue
    fi
    echo "$out"
    return "$rc"
  done
}

package_status() { dpkg-query -W -f='${db:Status-Status}' irqbpfd 2>/dev/null; }

# Processes running the installed binary (the name alone would also match
# other engineers' build-tree binaries).
installed_daemons() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/irqbpfd ] && echo "${p#/proc/}"
  done
}

cleanup_install() {
  local st
  st="$(package_status)"
  if [ -n "$st" ] && [ "$st" != not-installed ]; then
    dpkg_locked --purge irqbpfd >/dev/null || echo "cleanup: dpkg --purge irqbpfd failed"
  fi
  restore_policy
}

step_install() {
  local deb version
  deb="$(the_deb "$1")"
  version="$2"
  [ "$(id -u)" -eq 0 ] || skip "not root: dpkg -i needs root"
  need dpkg dpkg-query systemd-analyze
  if [ -n "$(installed_daemons)" ]; then
    skip "an irqbpfd from /usr/sbin is running here (pid $(installed_daemons | tr '\n' ' ')); not replacing its package"
  fi

  trap cleanup_install EXIT
  trap 'exit 130' INT TERM HUP
  install_policy
  sh "$policy" irqbpfd start
  [ $? -eq 101 ] && ok "policy-rc.d in place: every start denied (101)" || fail "policy-rc.d does not deny starts"
  [ "$fails" -eq 0 ] || finish

  local st
  st="$(package_status)"
  if [ -n "$st" ] && [ "$st" != not-installed ]; then
    echo "note: irqbpfd was left $st by an earlier run; purging it first"
    dpkg_locked --purge irqbpfd || fail "purging the leftover irqbpfd"
  fi

  local out
  if out="$(dpkg_locked --install "$deb")"; then
    echo "$out"
    ok "dpkg -i $(basename "$deb")"
  else
    echo "$out"
    fail "dpkg -i failed"
    finish
  fi
  [ "$(package_status)" = installed ] && ok "package status: installed" || fail "package status: $(package_status)"
  grep -q 'policy-rc.d denied execution of start' <<<"$out" && ok "postinst asked to start it; policy-rc.d denied" \
    || fail "postinst did not try invoke-rc.d start (or it was not denied)"
  [ -z "$(installed_daemons)" ] && ok "no daemon started" || fail "a daemon is running: $(installed_daemons)"

  # Every file where it belongs, with its mode.
  local entry path mode kind
  for entry in "${expected_files[@]}"; do
    read -r path mode kind <<<"$entry"
    path="${path#.}"
    [ -e "$path" ] && [ "$(stat -c %A "$path")" = "$mode" ] && ok "installed $path $mode" \
      || fail "installed $path: $(stat -c %A "$path" 2>&1)"
  done
  local conffiles
  conffiles="$(dpkg-query -W -f='${Conffiles}\n' irqbpfd | awk 'NF {print $1}' | sort | tr '\n' ' ')"
  [ "$conffiles" = "/etc/default/irqbpfd /etc/init.d/irqbpfd /etc/irqbpfd.conf " ] && ok "dpkg knows the conffiles: $conffiles" \
    || fail "conffiles recorded: '$conffiles'"

  # Registered with both init systems.
  ls /etc/rc2.d/S*irqbpfd >/dev/null 2>&1 && ls /etc/rc0.d/K*irqbpfd >/dev/null 2>&1 \
    && ok "update-rc.d: rc2.d start and rc0.d stop links" || fail "update-rc.d links missing"
  [ "$(readlink /etc/systemd/system/multi-user.target.wants/irqbpfd.service)" = /lib/systemd/system/irqbpfd.service ] \
    && ok "unit enabled (multi-user.target.wants)" || fail "unit not enabled"

  local rc
  out="$(systemd-analyze verify /lib/systemd/system/irqbpfd.service 2>&1)"
  rc=$?
  [ "$rc" -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify (installed unit): clean" || fail "systemd-analyze verify (rc $rc): $out"
  out="$(/usr/sbin/irqbpfd --version 2>&1)"
  [ "$out" = "irqbpfd $version" ] && ok "/usr/sbin/irqbpfd --version: $out" || fail "/usr/sbin/irqbpfd --version: '$out'"
  man -w irqbpfd 2>/dev/null | grep -q '/usr/share/man/man8/irqbpfd.8.gz' && ok "man -w irqbpfd finds the page" || fail "man does not find irqbpfd(8)"
  # The package has no irqbpfd-sim: `irqbpfd simulate` says so (exit 2).
  local sys_path=/usr/sbin:/usr/bin:/sbin:/bin
  if PATH="$sys_path" command -v irqbpfd-sim >/dev/null 2>&1; then
    echo "note: an irqbpfd-sim on $sys_path (not from this package): 'irqbpfd simulate' not checked"
  else
    out="$(PATH="$sys_path" /usr/sbin/irqbpfd simulate none.toml 2>&1)"
    rc=$?
    [ "$rc" -eq 2 ] && grep -q 'irqbpfd-sim not found' <<<"$out" && ok "irqbpfd simulate without irqbpfd-sim: 2, '$out'" \
      || fail "irqbpfd simulate without irqbpfd-sim: rc $rc, '$out'"
  fi
  out="$(/usr/sbin/irqbpfctl --version 2>&1)"
  [ "$out" = "irqbpfctl $version" ] && ok "/usr/sbin/irqbpfctl --version: $out" || fail "/usr/sbin/irqbpfctl --version: '$out'"
  man -w irqbpfctl 2>/dev/null | grep -q '/usr/share/man/man8/irqbpfctl.8.gz' && ok "man -w irqbpfctl finds the page" || fail "man does not find irqbpfctl(8)"
  /etc/init.d/irqbpfd status >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 3 ] && ok "/etc/init.d/irqbpfd status: 3 (not running)" || fail "/etc/init.d/irqbpfd status: $rc"

  # Purge: every file and every registration gone.
  local listed
  listed="$(dpkg-query -L irqbpfd)"
  if out="$(dpkg_locked --purge irqbpfd)"; then
    echo "$out"
    ok "dpkg -P irqbpfd"
  else
    echo "$out"
    fail "dpkg -P failed"
  fi
  st="$(package_status)"
  [ -z "$st" ] || [ "$st" = not-installed ] && ok "package status after purge: ${st:-unknown}" || fail "package status after purge: $st"
  local left=()
  while IFS= read -r path; do
    [ -n "$path" ] && [ ! -d "$path" ] && [ -e "$path" ] && left+=("$path")
  done <<<"$listed"
  for path in /etc/init.d/irqbpfd /etc/default/irqbpfd /etc/irqbpfd.conf /usr/share/doc/irqbpfd \
    /etc/systemd/system/irqbpfd.service /etc/systemd/system/multi-user.target.wants/irqbpfd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/irqbpfd.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/irqbpfd.service \
    /var/lib/systemd/deb-systemd-helper-masked/irqbpfd.service /etc/rc0.d/K01irqbpfd /etc/rc2.d/S01irqbpfd; do
    { [ -e "$path" ] || [ -L "$path" ]; } && left+=("$path")
  done
  compgen -G '/etc/rc[0-6S].d/[SK][0-9][0-9]irqbpfd' >/dev/null && left+=(/etc/rc?.d/*irqbpfd)
  [ "${#left[@]}" -eq 0 ] && ok "purge left nothing behind" || fail "left after purge: ${left[*]}"
  [ -z "$(installed_daemons)" ] || fail "a daemon is running after purge: $(installed_daemons)"
  finish
}

case "$step" in
  lint) step_lint "$@" ;;
  initscript) step_initscript "$@" ;;
  sandbox) step_sandbox "$@" ;;
  symbols) step_symbols "$@" ;;
  build) step_build "$@" ;;
  contents) step_contents "$@" ;;
  control) step_control "$@" ;;
  install) step_install "$@" ;;
  *)
    echo "package_test.sh: unknown step '$step'" >&2
    exit 2
    ;;
esac
