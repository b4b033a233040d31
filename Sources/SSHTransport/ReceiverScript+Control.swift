extension ReceiverScript {
    /// The control session's part of the receiver: the greeting, then one request a line (probe,
    /// publish, verification, resume, retention, ending sessions), in its own file for size; `text`
    /// ends with it.
    static let controlSession: String = #"""
        # ---- control session -------------------------------------------------------------------------
        # The checks run side by side: each starts a process, and one after another they were most of
        # the greeting's wait. A line each: "ok openssl", "ok perl", "ok gnutail", "ok statc", "spc …".
        caps=$(
          case " $hashes " in *" openssl "*) { command -v openssl >/dev/null 2>&1 && openssl dgst -sha256 -r </dev/null >/dev/null 2>&1 && echo ok openssl; } & ;; esac
          [ "$noperl" = 1 ] || { command -v perl >/dev/null 2>&1 && perl -e 1 2>/dev/null && echo ok perl; } &
          { tail --version 2>/dev/null | grep -q 'GNU coreutils' && echo ok gnutail; } &
          { stat -c %s . >/dev/null 2>&1 && echo ok statc; } &
          # The free space comes unasked with the greeting: the daemon checks it before every cycle's copies.
          printf 'spc %s\n' "$(df -P -k . 2>/dev/null | tail -n 1)" &
          wait
        )
        has() { case "$NL$caps$NL" in *"${NL}ok $1$NL"*) return 0 ;; esac; return 1; }
        if has statc; then findsz statc; else findsz; fi
        H=
        for c in $hashes; do
          case $c in
          openssl) has openssl && { usetool openssl; break; } ;;
          sha256sum|shasum|sha256) command -v $c >/dev/null 2>&1 && { usetool $c; break; } ;;
          esac
        done
        [ -n "$H" ] || { printf '@@ERR nohash\n'; exit 0; }
        P=sh; has perl && P=perl
        F=0; has gnutail && F=1
        spc=${caps#*spc }
        printf '@@SPC %s\n' "${spc%%"$NL"*}"
        B=; [ "$P" != perl ] || B=' blk fin ver'
        printf '@@READY %s %s %s resume tidy dx rmvm%s\n' "$H" "$P" "$F" "$B"

        # pr ID FOLDER NAME STEM EXT SIZE: the first free name among NAME, STEM_1EXT, …; same-size files
        # on the way with their hashes.
        pr() {
          n=0 p="$2/$3"
          while [ -e "$p" ] || [ -h "$p" ]; do
            if [ -f "$p" ] && [ ! -h "$p" ] && [ "$(sz "./$p")" = "$6" ]; then printf '%s S %s %s\n' "$1" "$n" "$(h1 "./$p")"; fi
            n=$((n+1)); if [ "$n" -gt 9999 ]; then printf '%s X\n' "$1"; return; fi
            p="$2/${4}_${n}${5}"
          done
          printf '%s F %s\n' "$1" "$n"
        }

        # ver ID PATH MODE: M missing, Z SIZE, H SIZE SHA256 (a symbolic link is not a copy: missing).
        ver() {
          if [ -h "$2" ] || [ ! -f "$2" ]; then printf '%s M\n' "$1"; return; fi
          s=$(sz "./$2") || { printf '%s U size\n' "$1"; return; }
          if [ "$3" = size ]; then printf '%s Z %s\n' "$1" "$s"; else printf '%s H %s %s\n' "$1" "$s" "$(h1 "./$2")"; fi
        }

        # rsm ID TEMP SIZE: a temp kept to resume: M missing, Z LEN (longer than SIZE), H LEN SHA256.
        rsm() {
          if [ -h "$2" ] || [ ! -f "$2" ]; then printf '%s M\n' "$1"; return; fi
          s=$(sz "./$2") || { printf '%s U size\n' "$1"; return; }
          if [ "$s" -gt "$3" ]; then printf '%s Z %s\n' "$1" "$s"; else printf '%s H %s %s\n' "$1" "$s" "$(h1 "./$2")"; fi
        }

        # mt FILE: its modification time, seconds since 1970, by date -r (GNU, BusyBox, BSD) or stat.
        mt() {
          mm=$(date -r "$1" +%s 2>/dev/null) || mm=$(stat -c %Y -- "$1" 2>/dev/null) || mm=$(stat -f %m -- "$1" 2>/dev/null) || return 1
          case $mm in ''|*[!0-9]*) return 1 ;; esac
          printf '%s\n' "$mm"
        }

        # rmv ID PATH SIZE [MTIME]: retention; only with --allow-remove, only a file of the recorded size
        # and, given MTIME (the one its copy was given), modified within 2 s of it (FAT keeps 2 s): "N SIZE"
        # for a file of another size, "T MTIME" for one of the same size written since, never removed.
        rmv() {
          if [ "$allowrm" != 1 ]; then say "refused: removing a published copy (no --allow-remove): $(clean "$2")"; printf '%s F refused by the NAS: no --allow-remove\n' "$1"; return; fi
          if [ -h "$2" ] || [ ! -f "$2" ]; then printf '%s M\n' "$1"; return; fi
          s=$(sz "./$2") || { printf '%s F size\n' "$1"; return; }
          if [ "$s" != "$3" ]; then printf '%s N %s\n' "$1" "$s"; return; fi
          if [ -n "$4" ]; then
            mm=$(mt "./$2") || { printf '%s F no modification time\n' "$1"; return; }
            if [ "$mm" -lt $(($4 - 2)) ] || [ "$mm" -gt $(($4 + 2)) ]; then printf '%s T %s\n' "$1" "$mm"; return; fi
          fi
          if rm -f -- "./$2"; then printf '%s D\n' "$1"; else printf '%s F rm\n' "$1"; fi
        }

        # pb1 ID TEMP FINAL: no-clobber publish without perl: link(2) fails if FINAL exists.
        pb1() {
          if [ -e "$3" ] || [ -h "$3" ]; then rm -f -- "./$2"; printf '%s E\n' "$1"; return; fi
          if ln -- "./$2" "./$3" 2>/dev/null; then rm -f -- "./$2"; printf '%s P\n' "$1"; return; fi
          if [ ! -e "$3" ] && [ ! -h "$3" ] && mv -n -- "./$2" "./$3" 2>/dev/null && [ ! -e "$2" ] && [ -f "$3" ]; then printf '%s P\n' "$1"
          else rm -f -- "./$2"; printf '%s E\n' "$1"; fi
        }

        # es SESSIONFILE…: ends the data sessions of an interrupted run (their receiver's process group,
        # only if that pid still is a dms-receive) and waits until they are gone.
        es1() {
          read -r p g since 2>/dev/null <"./$1" || return 0
          case $p in ''|*[!0-9]*) return 0 ;; esac
          kill -0 "$p" 2>/dev/null || return 0
          [ -r "/proc/$p/cmdline" ] && ! grep -aq dms-receive "/proc/$p/cmdline" 2>/dev/null && return 0
          # A session file with a start time (field 22 of /proc/PID/stat) names only the process that
          # started then: a later one with the same pid (another session, another dock) is left alone.
          case $since in
          ''|*[!0-9]*) ;;
          *) if read -r x x x x x x x x x x x x x x x x x x x x x began x <"/proc/$p/stat" 2>/dev/null && [ "$began" != "$since" ]; then return 0; fi ;;
          esac
          # (dash takes no "--" before a negative pid: "kill -9 -- -G" fails there, and only the pid died.)
          case $g in ''|*[!0-9]*) kill -9 "$p" ;; *) kill -9 "-$g" 2>/dev/null || kill -9 -- "-$g" 2>/dev/null || kill -9 "$p" ;; esac 2>/dev/null
          n=0; while kill -0 "$p" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1 2>/dev/null || sleep 1; n=$((n+1)); done
        }

        """# + controlPerl + #"""

            while IFS= read -r line; do
              IFS=$TAB; set -- $line; IFS=' '
              v=${1-}; [ $# -gt 0 ] && shift
              case $v in
              pr)
                [ $# -eq 6 ] || refuse "pr needs 6 fields" "$line"
                num "$1"; num "$6"; path "$2/x"; d=${R%/x}
                for f in "$3" "$4" "$5"; do dec "$f" || refuse "bad escape" "$f"; case $R in */*) refuse "a name with /" "$R" ;; esac; done
                dec "$3"; nm=$R; dec "$4"; st=$R; dec "$5"; ex=$R
                case $nm in ''|.|..) refuse "path outside the base" "$nm" ;; esac
                pr "$1" "$d" "$nm" "$st" "$ex" "$6" ;;
              dx)
                # dx ID FOLDER: "ID D" if the folder exists, else "ID N": in a folder not there yet, no
                # name is taken and nothing needs a probe (the publish never overwrites all the same).
                [ $# -eq 2 ] || refuse "dx needs 2 fields" "$line"
                num "$1"; path "$2/x"; d=${R%/x}
                if [ -d "$d" ]; then printf '%s D\n' "$1"; else printf '%s N\n' "$1"; fi ;;
              pb)
                if [ "$P" = perl ]; then
                  perl -e "$perlcommon$perlctl" -- "$tp" "$ts" "$logf" "$H" pb "$line" || { [ $? -ne 3 ] || exit 3; }
                  continue
                fi
                [ $# -gt 0 ] && [ $(($# % 3)) -eq 0 ] || refuse "pb needs ID TEMP FINAL triples" "$line"
                k=$(($# / 3))
                while [ "$k" -gt 0 ]; do
                  num "$1"; path "$2"; t=$R; path "$3"; f=$R
                  istemp "$t" || refuse "publishing a file that is not a temp file" "$t"
                  istemp "$f" && refuse "publishing under a temp file name" "$f"
                  [ -f "$t" ] && [ ! -h "$t" ] || refuse "not a temp file" "$t"
                  set -- "$@" "$1" "$t" "$f"; shift 3; k=$((k - 1))
                done
                while [ $# -gt 0 ]; do pb1 "$1" "$2" "$3"; shift 3; done ;;
              ver)
                [ $# -eq 3 ] || refuse "ver needs 3 fields" "$line"
                num "$1"; path "$2"; ver "$1" "$R" "$3" ;;
              rsm)
                [ $# -eq 3 ] || refuse "rsm needs 3 fields" "$line"
                num "$1"; num "$3"; path "$2"
                istemp "$R" || refuse "rsm of a file that is not a temp file" "$R"
                rsm "$1" "$R" "$3" ;;
              rmv)
                [ $# -eq 3 ] || [ $# -eq 4 ] || refuse "rmv needs 3 or 4 fields" "$line"
                num "$1"; num "$3"; [ $# -eq 3 ] || num "$4"; path "$2"
                istemp "$R" && refuse "rmv of a temp file" "$R"
                rmv "$1" "$R" "$3" "${4-}" ;;
              rmt)
                k=$#
                while [ "$k" -gt 0 ]; do
                  path "$1"
                  istemp "$R" || issession "$R" || refuse "removing a file that is not a temp file" "$R"
                  set -- "$@" "./$R"; shift; k=$((k - 1))
                done
                [ $# -eq 0 ] || rm -f -- "$@" ;;
              es)
                for f in "$@"; do path "$f"; issession "$R" || refuse "not a session file" "$R"; es1 "$R"; done ;;
              blk)
                [ "$P" = perl ] || refuse "blk needs perl" "$line"
                [ $# -eq 1 ] || refuse "blk needs a length" "$line"
                num "$1"
                perl -e "$perlcommon$perlctl" -- "$tp" "$ts" "$logf" "$H" blk "$1" || { [ $? -ne 3 ] || exit 3; } ;;
              spc) df -P -k . | tail -n 1 ;;
              end) num "${1-}"; printf '\n@@END %s\n' "$1" ;;
              *) refuse "unknown request" "$line" ;;
              esac
            done
            exit 0

            """#
}
