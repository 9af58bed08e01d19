import type { Config } from "../config/index.ts";

// The playpen check as a POSIX sh script run on the host through its channel (DESIGN.md, "What it
// is for", job 4): for each playpen, in order, the path exists, is a mount point, of an allowed
// file system type, from the midtier's source, mounted read-write; a probe file with a unique name
// is written, read back and removed as `runAs`; and the midtier's marker reads back its content
// as `runAs`. The first failing check of a playpen names it; every playpen is reported, as one
// JSON line on stdout. Config values reach the script only as single-quoted words.

/** One configured playpen (`bootstrap.playpens[]`). */
export type Playpen = Config["bootstrap"]["playpens"][number];

export interface PlaypenScriptOptions {
  /** bound of each file-system operation, in seconds (a dead NFS mount hangs, it never fails) */
  operationTimeoutS: number;
  /** part of the probe file's name, unique per run; letters and digits only */
  probeToken: string;
}

/** A string as one single-quoted shell word: the shell expands nothing inside it. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("a shell word cannot hold a NUL character");
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * How the kernel writes a path or source in /proc/self/mountinfo and /proc/mounts: space, tab,
 * newline and backslash as octal escapes. The script compares these escaped forms, so no decoding
 * happens in awk (and `awk -v`, which would decode them, is never used).
 */
export function mountinfoEscape(value: string): string {
  return value.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

// The fixed part. Exit statuses of the probe (run as runAs): 10 the probe file could not be
// created, 11 it read back wrong, 12 it could not be removed, 20 the marker is missing or
// unreadable, 21 the marker's content differs. `timeout` answers 124 when an operation hung.
const PRELUDE = String.raw`set -u
set -f
# Without its tools or a mount table the script could only misreport (an empty mount lookup reads
# as "not mounted"): it says what is missing and gives no report.
for vp_tool in awk sed tr id uname cat rm; do
  command -v "$vp_tool" >/dev/null 2>&1 || { echo "vor-power playpen check: $vp_tool is missing on this host" >&2; exit 3; }
done
if [ ! -r /proc/self/mountinfo ] && [ ! -r /proc/mounts ]; then
  echo "vor-power playpen check: no mount table (/proc/self/mountinfo, /proc/mounts)" >&2; exit 3
fi
VP_OUT=''
VP_FAILED=0
VP_HOST=$(uname -n 2>/dev/null | tr -c 'A-Za-z0-9.\n-' '_')
if command -v timeout >/dev/null 2>&1; then VP_BOUNDED=true; else VP_BOUNDED=false; fi

# A command bounded by VP_T seconds (killed 2 s later if it ignores TERM); unbounded without
# timeout(1), where the channel's own timeout is the bound.
vp_bounded() {
  if [ "$VP_BOUNDED" = true ]; then timeout -k 2 "$VP_T" "$@"; else "$@"; fi
}

# A string as JSON string content: control characters dropped, backslash and quote escaped.
vp_js() {
  printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

vp_report() { # index path code detail fstype source
  [ -n "$VP_OUT" ] && VP_OUT="$VP_OUT,"
  if [ "$3" = ok ]; then vp_ok=true; else vp_ok=false; VP_FAILED=1; fi
  VP_OUT="$VP_OUT{\"index\":$1,\"path\":\"$(vp_js "$2")\",\"ok\":$vp_ok,\"code\":\"$3\",\"detail\":\"$(vp_js "$4")\",\"fsType\":\"$(vp_js "$5")\",\"source\":\"$(vp_js "$6")\"}"
}

# How to run the probe as a user: as ourselves, or switched with what this image has.
vp_switch_for() {
  if [ "$(id -un)" = "$1" ]; then echo self
  elif [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then echo sudo; else echo none; fi
  elif command -v runuser >/dev/null 2>&1; then echo runuser
  elif command -v setpriv >/dev/null 2>&1; then echo setpriv
  elif command -v su >/dev/null 2>&1; then echo su
  else echo none
  fi
}

vp_as() { # user switch command...
  vp_user=$1; vp_how=$2; shift 2
  case $vp_how in
    self) vp_bounded "$@" ;;
    runuser) vp_bounded runuser -u "$vp_user" -- "$@" ;;
    setpriv) vp_bounded setpriv --reuid="$(id -u "$vp_user")" --regid="$(id -g "$vp_user")" --init-groups "$@" ;;
    # "--": su's getopt would otherwise take the probe's own -c for its option.
    su) vp_bounded su -s /bin/sh -c 'exec "$0" "$@"' -- "$vp_user" "$@" ;;
    sudo) vp_bounded sudo -n -u "$vp_user" -- "$@" ;;
    *) return 125 ;;
  esac
}

VP_PROBE=$(cat <<'VP_PROBE_END'
d=$1; f=$2; tok=$3; mf=$4; want=$5
set -C
if ! printf '%s' "$tok" > "$d/$f" 2>/dev/null; then exit 10; fi
set +C
got=$(cat "$d/$f" 2>/dev/null)
rm -f "$d/$f" 2>/dev/null || exit 12
[ "$got" = "$tok" ] || exit 11
[ -e "$d/$mf" ] && [ -r "$d/$mf" ] || exit 20
mark=$(cat "$d/$mf" 2>/dev/null) || exit 20
[ "$mark" = "$want" ] || exit 21
exit 0
VP_PROBE_END
)

# The mount at exactly this (escaped) path: "fstype source options" of the top mount, or nothing.
vp_mount_of() {
  if [ -r /proc/self/mountinfo ]; then
    VP_M=$1 awk 'BEGIN { m = ENVIRON["VP_M"] }
      $5 == m { for (i = 7; i <= NF && $i != "-"; i++) ; t = $(i + 1); s = $(i + 2); o = $6 "," $(i + 3) }
      END { if (t != "") print t, s, o }' /proc/self/mountinfo
  else
    VP_M=$1 awk 'BEGIN { m = ENVIRON["VP_M"] } $2 == m { t = $3; s = $1; o = $4 }
      END { if (t != "") print t, s, o }' /proc/mounts
  fi
}

vp_check() { # index path escaped-path escaped-source|'' runAs marker-file marker-content fstype...
  i=$1; p=$2; pm=$3; ps=$4; u=$5; mf=$6; mc=$7; shift 7
  vp_bounded sh -c '[ -e "$1" ]' sh "$p"; rc=$?
  if [ $rc -eq 124 ]; then vp_report "$i" "$p" timeout "no answer within $VP_T seconds: the file system hangs" '' ''; return; fi
  if [ $rc -ne 0 ]; then vp_report "$i" "$p" missing "$p does not exist" '' ''; return; fi
  vp_bounded sh -c '[ -d "$1" ]' sh "$p" || { vp_report "$i" "$p" missing "$p is not a directory" '' ''; return; }
  info=$(vp_mount_of "$pm")
  if [ -z "$info" ]; then vp_report "$i" "$p" not-mounted "$p is a plain directory, not a mount point" '' ''; return; fi
  IFS=' ' read -r t s o <<VP_INFO_END
$info
VP_INFO_END
  allowed=false
  for want in "$@"; do [ "$t" = "$want" ] && allowed=true; done
  if [ "$allowed" != true ]; then vp_report "$i" "$p" fs-type "file system type $t is not one of: $*" "$t" "$s"; return; fi
  if [ -n "$ps" ] && [ "$s" != "$ps" ]; then vp_report "$i" "$p" source "mounted from $s, expected $ps" "$t" "$s"; return; fi
  case ",$o," in *,ro,*) vp_report "$i" "$p" read-only "mounted read-only ($o)" "$t" "$s"; return ;; esac
  if ! id -u "$u" >/dev/null 2>&1; then vp_report "$i" "$p" run-as "user $u does not exist on the host" "$t" "$s"; return; fi
  how=$(vp_switch_for "$u")
  vp_as "$u" "$how" sh -c "$VP_PROBE" sh "$p" ".vor-power-probe.$VP_HOST.$$.$VP_TOKEN.$i" "$VP_TOKEN" "$mf" "$mc" </dev/null >/dev/null 2>&1
  rc=$?
  case $rc in
    0) vp_report "$i" "$p" ok "" "$t" "$s" ;;
    10) vp_report "$i" "$p" write "$u cannot create a file in $p" "$t" "$s" ;;
    11) vp_report "$i" "$p" write "a file $u wrote in $p read back different" "$t" "$s" ;;
    12) vp_report "$i" "$p" write "$u cannot remove its probe file in $p" "$t" "$s" ;;
    20) vp_report "$i" "$p" marker "marker $mf is missing or unreadable by $u" "$t" "$s" ;;
    21) vp_report "$i" "$p" marker "marker $mf does not hold the expected content: another file system" "$t" "$s" ;;
    124) vp_report "$i" "$p" timeout "the probe as $u got no answer within $VP_T seconds: the file system hangs" "$t" "$s" ;;
    125) vp_report "$i" "$p" run-as "cannot run as $u: not root and no sudo" "$t" "$s" ;;
    *) vp_report "$i" "$p" run-as "running the probe as $u failed (exit $rc, switch $how)" "$t" "$s" ;;
  esac
}
`;

/**
 * The script for these playpens. Its stdout's last line is
 * `{"playpens":[{index,path,ok,code,detail,fsType,source}...],"bounded":bool}`; it exits 0 when
 * every playpen passed, 1 otherwise.
 */
export function playpenScript(playpens: readonly Playpen[], options: PlaypenScriptOptions): string {
  if (!/^[A-Za-z0-9]+$/.test(options.probeToken))
    throw new Error("the probe token must be letters and digits (it is part of a file name)");
  const seconds = Math.max(1, Math.floor(options.operationTimeoutS));
  const calls = playpens.map((p, index) =>
    [
      "vp_check",
      String(index),
      p.path,
      mountinfoEscape(p.path),
      p.source === undefined ? "" : mountinfoEscape(p.source),
      p.runAs,
      p.marker.file,
      p.marker.content,
      ...p.fsTypes,
    ]
      .map((word, i) => (i === 0 ? word : shellQuote(word)))
      .join(" "),
  );
  return [
    "#!/bin/sh",
    "# vor-power playpen check (generated; see shared/bootstrap/playpen-script.ts)",
    `VP_T=${seconds}`,
    `VP_TOKEN=${options.probeToken}`,
    PRELUDE,
    ...calls,
    `printf '{"playpens":[%s],"bounded":%s}\\n' "$VP_OUT" "$VP_BOUNDED"`,
    'exit "$VP_FAILED"',
    "",
  ].join("\n");
}
