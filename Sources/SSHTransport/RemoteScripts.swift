/// The shell side of the control channel. It is sent once per connection to a persistent
/// `/bin/sh -s` on the NAS and defines small functions; every request afterwards is a list of
/// calls whose arguments are single-quoted bytes (ShellQuote), so a file name is always data,
/// never code. Outputs are our own `printf` lines: "<index> <code> [fields]".
enum RemoteScripts {
    /// `hashPreference`: the order in which hash tools are tried.
    static func prelude(basePath: [UInt8], hashPreference: [String]) -> [UInt8] {
        var s: [UInt8] = []
        s += Array("LC_ALL=C; export LC_ALL\n".utf8)
        s += Array("cd -- ".utf8) + ShellQuote.quote(basePath)
            + Array(" 2>/dev/null || { printf '@@ERR base\\n'; exit 0; }\n".utf8)
        s += Array("""
            [ -w . ] || { printf '@@ERR basewrite\\n'; exit 0; }
            H=
            for c in \(hashPreference.joined(separator: " ")); do
              case $c in
                openssl) command -v openssl >/dev/null 2>&1 && openssl dgst -sha256 -r </dev/null >/dev/null 2>&1 && { H=openssl; break; } ;;
                sha256sum) command -v sha256sum >/dev/null 2>&1 && { H=sha256sum; break; } ;;
                shasum) command -v shasum >/dev/null 2>&1 && { H=shasum; break; } ;;
                sha256) command -v sha256 >/dev/null 2>&1 && { H=sha256; break; } ;;
              esac
            done
            [ -n "$H" ] || { printf '@@ERR nohash\\n'; exit 0; }
            hs() { case $H in openssl) openssl dgst -sha256 -r ;; sha256sum) sha256sum ;; shasum) shasum -a 256 ;; sha256) sha256 -q ;; esac; }
            h1() { hs < "$1" | cut -c1-64; }
            if stat -c %s . >/dev/null 2>&1; then sz() { stat -c %s -- "$1"; }
            elif stat -f %z . >/dev/null 2>&1; then sz() { stat -f %z -- "$1"; }
            else sz() { wc -c < "$1" | tr -d ' '; }; fi
            P=sh; command -v perl >/dev/null 2>&1 && perl -e 1 2>/dev/null && P=perl
            pr() {
              n=0; p="$2/$3"
              while [ -e "$p" ] || [ -h "$p" ]; do
                if [ -f "$p" ] && [ "$(sz "$p")" = "$6" ]; then printf '%s S %s %s\\n' "$1" "$n" "$(h1 "$p")"; fi
                n=$((n+1)); if [ "$n" -gt 9999 ]; then printf '%s X\\n' "$1"; return; fi
                p="$2/${4}_${n}${5}"
              done
              printf '%s F %s\\n' "$1" "$n"
            }
            pb() {
              if [ -e "$3" ] || [ -h "$3" ]; then rm -f -- "$2"; printf '%s E\\n' "$1"; return; fi
              if mv -n -- "$2" "$3" 2>/dev/null && [ ! -e "$2" ] && [ -f "$3" ]; then printf '%s P\\n' "$1"
              else rm -f -- "$2"; printf '%s E\\n' "$1"; fi
            }
            ver() {
              if [ ! -f "$2" ]; then printf '%s M\\n' "$1"; return; fi
              s=$(sz "$2") || { printf '%s U size\\n' "$1"; return; }
              if [ "$3" = size ]; then printf '%s Z %s\\n' "$1" "$s"; else printf '%s H %s %s\\n' "$1" "$s" "$(h1 "$2")"; fi
            }
            rmv() {
              if [ ! -f "$2" ]; then printf '%s M\\n' "$1"; return; fi
              s=$(sz "$2") || { printf '%s F size\\n' "$1"; return; }
              if [ "$s" != "$3" ]; then printf '%s N %s\\n' "$1" "$s"; return; fi
              if rm -f -- "$2"; then printf '%s D\\n' "$1"; else printf '%s F rm\\n' "$1"; fi
            }
            spc() { df -P -k . | tail -n 1; }
            # es FILE...: ends the tar whose pid a session file of an interrupted run holds (only a
            # tar: the pid may be reused) and waits until it is gone, so it writes nothing more.
            es() {
              for f in "$@"; do
                p=$(cat -- "$f" 2>/dev/null) || continue
                case $p in ''|*[!0-9]*) continue ;; esac
                if kill -0 "$p" 2>/dev/null && { [ ! -r "/proc/$p/comm" ] || grep -q tar "/proc/$p/comm"; }; then
                  kill -9 "$p" 2>/dev/null
                  n=0; while kill -0 "$p" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1 2>/dev/null || sleep 1; n=$((n+1)); done
                fi
              done
            }
            G=0; tar --version 2>/dev/null | grep -q 'GNU tar' && G=1
            F=0; tail --version 2>/dev/null | grep -q 'GNU coreutils' && F=1
            printf '@@READY %s %s %s %s\\n' "$H" "$P" "$G" "$F"

            """.utf8)
        return s
    }

    /// Publishes temp → final for many files in one perl process (one fork per batch instead of
    /// one `mv` per file). link(2) is an atomic no-clobber rename: it fails if the final name
    /// exists, so a file is never overwritten; where the file system has no hard links, rename(2)
    /// after an existence check.
    static let perlPublisher = #"""
        perl -e 'while (@ARGV) { my ($i, $t, $f) = splice(@ARGV, 0, 3); if (link($t, $f)) { unlink($t); print "$i P\n"; } elsif ($!{EEXIST}) { unlink($t); print "$i E\n"; } elsif (!-e $f && !-l $f && rename($t, $f)) { print "$i P\n"; } else { my $e = "$!"; $e =~ s/[\r\n]/ /g; unlink($t); print "$i X $e\n"; } }' --
        """#

    /// Hashes standard input; the output line starts with 64 hex digits.
    static func stdinHashCommand(tool: String) -> String {
        switch tool {
        case "openssl": "openssl dgst -sha256 -r"
        case "shasum": "shasum -a 256"
        case "sha256": "sha256 -q"
        default: "sha256sum"
        }
    }

    /// The command that hashes named files in one process; its output lines start with 64 hex
    /// digits, then separator characters, then the name.
    static func batchHashCommand(tool: String) -> String {
        switch tool {
        case "openssl": "openssl dgst -sha256 -r"
        case "shasum": "shasum -a 256"
        case "sha256": "sha256 -r"
        default: "sha256sum"
        }
    }
}
