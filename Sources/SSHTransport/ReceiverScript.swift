import Configuration

/// dms-receive: the program on the NAS that every session runs, whether the daemon sends it along
/// (`receiver: "inline"`, an unrestricted key) or authorized_keys runs it as a forced command
/// (`receiver: "installed"`, a restricted key). One POSIX sh script, the single source of truth:
/// `dji-media-sync nas-receiver` prints it for installing. It speaks RemoteProtocol's verbs only,
/// confined to one base folder; see its header and docs/nas-receiver.md.
public enum ReceiverScript {
    /// The receiver (POSIX sh; dash, bash, BusyBox ash).
    public static let text: String = #"""
        #!/bin/sh
        # dms-receive: the NAS side of dji-media-sync. POSIX sh; runs on dash, bash and BusyBox ash with
        # either coreutils or BusyBox tools. Printed by `dji-media-sync nas-receiver`; see
        # docs/nas-receiver.md.
        #
        # One protocol, two ways to start it:
        #  - unrestricted ("inline"): the daemon runs this very text as `sh -c '<text>' dms-receive
        #    --base B ... control|data`;
        #  - restricted ("installed"): authorized_keys runs it as a forced command `command="/usr/local/
        #    bin/dms-receive --base B [--allow-remove] [--allow-read] [--log FILE]",restrict`; the session
        #    kind comes from SSH_ORIGINAL_COMMAND: exactly `dms-receive control`, `… data` or `… read`.
        #    Options only ever come from our own command line, never from the client.
        #
        # Requests are data, never code: one per line, fields separated by TAB; TAB, LF, CR and % inside
        # a field are sent as %09 %0A %0D %25, and an empty field as a lone %. Every path is relative to
        # the base, has no empty, "." or ".." component, and no folder on its way may be a symbolic link.
        # Files are only created new (noclobber), temp files only under the daemon's temp names, published
        # names never overwritten; published copies are removed only with --allow-remove (retention).
        # A request outside this is refused: logged on the NAS (--log FILE, else syslog through logger,
        # else .dms-receive.log in the base), told on stderr, and the session ends.
        #
        # Data sessions read `put NAME SIZE [MTIME]` lines each followed by exactly SIZE bytes (or `app NAME
        # SIZE OFFSET [MTIME]`: the rest of a temp holding OFFSET bytes), written by one perl per batch or
        # by one dd per file (iflag=count_bytes,fullblock; coreutils >= 8.20, BusyBox >= 1.31). No tar:
        # its member names, links and modes would be the sender's to choose; here every name is checked
        # before anything is written, and only regular files are ever created. With `tidy N` in its head, a
        # data session that ends before `end` removes the temps it created, except those of files of N
        # bytes or more (kept for resuming; none with 0): a stream still buffered for a dead daemon leaves
        # nothing behind.
        LC_ALL=C; export LC_ALL
        umask 022
        set -f
        TAB='	'
        NL='
        '
        CR=$(printf '\r')
        base= allowrm=0 allowread=0 noperl=0 logf= tp=.dms- ts=.part fault= hashes='openssl sha256sum shasum sha256' kind=

        # Printable, bounded copy of $1 for a log line (hostile bytes never reach a log raw).
        clean() { printf '%s' "$1" | tr -c ' -~' '?' | cut -c1-200; }

        say() {
          m="dms-receive[$$] ${SSH_CLIENT%% *}: $1"
          if [ -n "$logf" ]; then printf '%s %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$m" >>"$logf"
          elif command -v logger >/dev/null 2>&1; then logger -t dms-receive -p auth.warning -- "$m"
          else printf '%s %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$m" >>"${base:-.}/.dms-receive.log"
          fi 2>/dev/null
        }

        # refuse WHY [REQUEST]: log, tell the daemon, end the session.
        refuse() {
          say "refused: $1${2:+: $(clean "$2")}"
          printf 'dms-receive: refused: %s\n' "$1" >&2
          printf '@@REFUSED %s\n' "$1"
          exit 3
        }

        while [ $# -gt 0 ]; do
          case $1 in
          --base) [ $# -ge 2 ] || refuse "--base needs a value"; base=$2; shift 2 ;;
          --allow-remove) allowrm=1; shift ;;
          --allow-read) allowread=1; shift ;;
          --log) [ $# -ge 2 ] || refuse "--log needs a value"; logf=$2; shift 2 ;;
          --temp-prefix) [ $# -ge 2 ] || refuse "--temp-prefix needs a value"; tp=$2; shift 2 ;;
          --temp-suffix) [ $# -ge 2 ] || refuse "--temp-suffix needs a value"; ts=$2; shift 2 ;;
          --hash) [ $# -ge 2 ] || refuse "--hash needs a value"; hashes=$2; shift 2 ;;
          --no-perl) noperl=1; shift ;;
          # Tests only: shell code run after a batch is written, before it is hashed. From our own command
          # line only (the daemon's, or the NAS admin's authorized_keys), never from a request.
          --fault-after-write) [ $# -ge 2 ] || refuse "--fault-after-write needs a value"; fault=$2; shift 2 ;;
          --) shift; break ;;
          -*) refuse "unknown option" "$1" ;;
          *) break ;;
          esac
        done
        case $tp$ts in */*|*"$TAB"*|*"$NL"*) refuse "temp prefix and suffix must be plain names" ;; esac
        [ -n "$tp" ] || refuse "the temp prefix must not be empty"
        if [ $# -gt 0 ]; then
          kind=$*
        else
          case ${SSH_ORIGINAL_COMMAND-} in
          'dms-receive control') kind=control ;;
          'dms-receive data') kind=data ;;
          'dms-receive read') kind=read ;;
          *) refuse "not a dms-receive session" "${SSH_ORIGINAL_COMMAND-(no command)}" ;;
          esac
        fi
        case $kind in control|data|read) ;; *) refuse "unknown session kind" "$kind" ;; esac
        [ "$kind" != read ] || [ "$allowread" = 1 ] || refuse "reading published copies (restore) needs --allow-read"
        case $base in /*) ;; *) printf '@@ERR base\n'; exit 0 ;; esac
        cd -- "$base" 2>/dev/null || { printf '@@ERR base\n'; exit 0; }
        [ "$kind" = read ] || [ -w . ] || { printf '@@ERR basewrite\n'; exit 0; }

        # dec FIELD: R = the decoded field; fails on a malformed escape. Fork-free.
        dec() {
          case $1 in *%*) ;; *) R=$1; return 0 ;; esac
          [ "$1" = % ] && { R=; return 0; }
          R= s=$1
          while :; do
            case $s in
            *%*)
              R=$R${s%%\%*}; s=${s#*\%}
              case $s in 25*) R=$R% ;; 09*) R=$R$TAB ;; 0[Aa]*) R=$R$NL ;; 0[Dd]*) R=$R$CR ;; *) return 1 ;; esac
              s=${s#??} ;;
            *) R=$R$s; return 0 ;;
            esac
          done
        }

        # path FIELD: R = the decoded path, checked: relative, no empty/./.. component, and no folder on
        # its way a symbolic link or a non-folder. The last folder checked is remembered (batches share
        # folders).
        LASTD=
        path() {
          dec "$1" || refuse "bad escape" "$1"
          case /$R/ in *//*|*/./*|*/../*) refuse "path outside the base" "$R" ;; esac
          d=${R%/*}
          [ "$d" = "$R" ] && return 0
          [ "$d" = "$LASTD" ] && return 0
          q= rest=$d/
          while [ -n "$rest" ]; do
            q=${q:+$q/}${rest%%/*}; rest=${rest#*/}
            if [ -h "$q" ]; then refuse "symbolic link on the way" "$q"; fi
            if [ -e "$q" ] && [ ! -d "$q" ]; then refuse "not a folder" "$q"; fi
          done
          LASTD=$d
        }

        # Temp files: "<folder>/<prefix>…<suffix>"; session files: "<prefix>….session-…" in the base.
        istemp() { n=${1##*/}; [ "$n" != "$1" ] && case $n in "$tp"*"$ts") return 0 ;; esac; return 1; }
        issession() { case $1 in */*) return 1 ;; "$tp"*.session-*) return 0 ;; esac; return 1; }
        num() { case $1 in ''|*[!0-9]*) refuse "not a number" "$1" ;; esac; }

        # sz FILE: its size, by the first of stat -c, stat -f and wc that works here (`findsz statc`: stat -c
        # is known to). Found once, in the
        # session's own shell (sz runs in $(...) subshells, where a redefinition is lost): by a read
        # session at its start, a control session with its greeting, a data session only when it
        # resumes without perl (one process start less a batch).
        findsz() {
          SZF=1
          if [ "${1-}" = statc ] || stat -c %s . >/dev/null 2>&1; then sz() { stat -c %s -- "$1"; }
          elif stat -f %z . >/dev/null 2>&1; then sz() { stat -f %z -- "$1"; }
          else sz() { wc -c < "$1" | tr -d ' '; }; fi
        }
        SZF=
        sz() { findsz; sz "$1"; }
        [ "$kind" != read ] || findsz

        # usetool NAME: the hash commands of a known tool (never a name from a request run as a command).
        usetool() {
          case $1 in
          openssl) HS='openssl dgst -sha256 -r'; HB='openssl dgst -sha256 -r' ;;
          sha256sum) HS=sha256sum; HB=sha256sum ;;
          shasum) HS='shasum -a 256'; HB='shasum -a 256' ;;
          sha256) HS='sha256 -q'; HB='sha256 -r' ;;
          *) return 1 ;;
          esac
          H=$1
        }
        h1() { $HS < "$1" | cut -c1-64; }

        # ---- perl, shared by the read and data sessions: refusals, framing, and path() ------------------
        perlcommon='
        # No warnings pragma: loading it is ~2 ms of start-up per perl, and a batch starts two; Fcntl
        # only where a file is opened (the data and read sessions, not the probes), and through xs.
        use strict;
        # EEXIST by number (17 on Linux and the BSDs, since V7): %! would load Errno, ~1.5 ms more.
        sub eexist { $! == 17 }
        # xs MODULE: boots a core XS module (Fcntl, Digest::SHA) the way XSLoader does, without its .pm:
        # those load Exporter, warnings, vars and more, ~5 ms of start-up a batch. False if the layout
        # is not the usual one (a static perl, no .so under @INC); the caller then loads the .pm.
        sub xs {
          my ($m) = @_;
          (my $f = $m) =~ s{::}{/}g; (my $b = $m) =~ s{::}{__}g; my $n = substr($m, rindex($m, q{:}) + 1);
          eval {
            defined &DynaLoader::dl_load_file or DynaLoader::boot_DynaLoader(q{DynaLoader});
            my ($so) = grep { -f } map { "$_/auto/$f/$n.so" } @INC;
            my $h = defined $so && DynaLoader::dl_load_file($so, 0) or return 0;
            my $s = DynaLoader::dl_find_symbol($h, "boot_$b") or return 0;
            &{DynaLoader::dl_install_xsub("${m}::bootstrap", $s)}($m);
            1;
          };
        }
        my ($tp, $ts, $logf) = splice(@ARGV, 0, 3);
        my ($buf, $lastd) = (q{}, q{});
        sub clean { my $s = substr($_[0], 0, 200); $s =~ s/[^ -~]/?/g; $s }
        sub out { my $off = 0; while ($off < length $_[0]) { my $w = syswrite(STDOUT, $_[0], length($_[0]) - $off, $off); die "dms-receive: write: $!\n" unless defined $w; $off += $w } }
        sub refuse {
          my ($why, $what) = @_;
          my $c = defined $ENV{SSH_CLIENT} ? (split / /, $ENV{SSH_CLIENT})[0] : q{};
          my $m = "dms-receive[$$] $c: refused: $why" . (defined $what ? q{: } . clean($what) : q{});
          my @t = localtime; my $at = sprintf(q{%04d-%02d-%02dT%02d:%02d:%02d}, $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0]);
          my $f = $logf ne q{} ? $logf : system(q{sh}, q{-c}, q{command -v logger >/dev/null 2>&1}) == 0 ? q{} : q{.dms-receive.log};
          if ($f eq q{}) { system(q{logger}, q{-t}, q{dms-receive}, q{-p}, q{auth.warning}, q{--}, $m) }
          elsif (open my $l, q{>>}, $f) { print $l "$at $m\n"; close $l }
          print STDERR "dms-receive: refused: $why\n"; out("\@\@REFUSED $why\n"); exit 3;
        }
        sub more { my $r = sysread(STDIN, $buf, 1 << 20, length $buf); die "dms-receive: read: $!\n" unless defined $r; $r }
        sub line { for (;;) { my $i = index($buf, "\n"); if ($i >= 0) { my $l = substr($buf, 0, $i); substr($buf, 0, $i + 1) = q{}; return $l } return undef unless more() } }
        sub dec { my $f = shift; return $f if index($f, q{%}) < 0; return q{} if $f eq q{%}; return undef if $f =~ /%(?!25|09|0[AaDd])/; $f =~ s/%(25|09|0[AaDd])/chr(hex $1)/ge; $f }
        # The checks of the sh path(): relative, no empty/./.. component, no symbolic link or non-folder
        # on the way. Returns the path, its folder (undef in the base) and its name. (No quote character
        # in this text: it is a single-quoted sh string.)
        sub checked {
          my $raw = shift;
          my $p = dec($raw); refuse(q{bad escape}, $raw) unless defined $p;
          refuse(q{path outside the base}, $p) if "/$p/" =~ m{//|/\./|/\.\./};
          my $k = rindex($p, q{/});
          my ($d, $name) = $k < 0 ? (undef, $p) : (substr($p, 0, $k), substr($p, $k + 1));
          if (defined $d && $d ne $lastd) {
            my $q = q{};
            for my $c (split m{/}, $d) { $q = $q eq q{} ? $c : "$q/$c"; refuse(q{symbolic link on the way}, $q) if -l $q; refuse(q{not a folder}, $q) if -e _ && !-d _ }
            $lastd = $d;
          }
          return ($p, $d, $name);
        }
        # Publishes temp $t as $f (paths from checked(), with ./), never over a file: "P", "E" (the name
        # exists; the temp is removed) or "X why".
        sub publish1 {
          my ($t, $f) = @_;
          if (link($t, $f)) { unlink($t); return q{P} } elsif (eexist()) { unlink($t); return q{E} }
          elsif (!-e $f && !-l $f && rename($t, $f)) { return q{P} }
          my $e = "$!"; $e =~ s/[\r\n]/ /g; unlink($t); return "X $e";
        }
        # A temp name (the sh istemp): in a folder, with the daemon temp prefix and suffix.
        sub istemp { my ($d, $name) = @_; defined $d && length($name) >= length($tp) + length($ts) && substr($name, 0, length $tp) eq $tp && ($ts eq q{} || substr($name, -length $ts) eq $ts) }
        sub num { refuse(q{not a number}, $_[0]) unless defined $_[0] && $_[0] =~ /\A[0-9]+\z/ }
        # The temp and the final name of a publish (pb, fin), checked; as ./ paths.
        sub pubnames {
          my ($t, $td, $tn) = checked($_[0]);
          refuse(q{publishing a file that is not a temp file}, $t) unless istemp($td, $tn);
          ("./$t", pubfinal($_[1]))
        }
        # The final name of a publish, checked; as a ./ path.
        sub pubfinal {
          my ($f, $fd, $fn) = checked($_[0]);
          refuse(q{publishing under a temp file name}, $f) if istemp($fd, $fn);
          "./$f"
        }
        # The hash tools, by name, with the files to hash as arguments.
        my %hb = (openssl => [q{openssl}, q{dgst}, q{-sha256}, q{-r}], sha256sum => [q{sha256sum}], shasum => [q{shasum}, q{-a}, q{256}], sha256 => [q{sha256}, q{-r}]);
        # One run of hash tool T over FILES: its output, the hashes (lower case) by name as printed, and
        # whether it succeeded (a file that went away meanwhile has no line).
        sub hashrun { my %got; my ($o, $ok) = hashread(hashopen(@_), \%got); ($o, \%got, $ok) }
        sub hashopen { my ($t, @f) = @_; open(my $h, q{-|}, @{$hb{$t}}, @f) or die "dms-receive: $t: $!\n"; $h }
        # Reads a run of the tool to its end into %$got: its output, and whether it succeeded.
        sub hashread {
          my ($h, $got) = @_;
          my $o = q{};
          while (my $l = <$h>) { $o .= $l; $got->{$2} = lc $1 if $l =~ /\A([0-9a-fA-F]{64})[ *]+(.*?)\r?\n?\z/ }
          ($o, close $h)
        }
        '

        """# + readSession + #"""
            """# + dataPerl + #"""
            if [ "$kind" = data ]; then
              PD=; [ "$noperl" = 1 ] || ! command -v perl >/dev/null 2>&1 || PD=perl
              exec 3<&0
              set -C --
              # The temps this session created, one "SIZE FIELD" a line (fields are escaped: no LF), for
              # tidy: the sh twin of the perl END above (same rule, same KEEP).
              KEEP= TEMPS=
              tidy() {
                [ -n "$KEEP" ] && [ -n "$TEMPS" ] || return 0
                IFS=$NL
                for x in $TEMPS; do
                  IFS=' '
                  dec "${x#* }" || continue
                  if [ "$KEEP" = 0 ] || [ "${x%% *}" -lt "$KEEP" ]; then rm -f -- "./$R"; fi
                done
                IFS=' '
              }
              trap tidy EXIT
              while IFS= read -r line; do
                case $line in *"$TAB"*) v=${line%%"$TAB"*}; r=${line#*"$TAB"} ;; *) v=$line; r= ;; esac
                case $r in *"$TAB"*) a=${r%%"$TAB"*}; b=${r#*"$TAB"} ;; *) a=$r; b= ;; esac
                case $b in *"$TAB"*) c=${b#*"$TAB"}; b=${b%%"$TAB"*} ;; *) c= ;; esac
                case $c in *"$TAB"*) e=${c#*"$TAB"}; c=${c%%"$TAB"*} ;; *) e= ;; esac
                case $v in
                tool) usetool "$a" || refuse "unknown hash tool" "$a" ;;
                tidy) num "$a"; KEEP=$a ;;
                pid)
                  dec "$a" || refuse "bad escape" "$a"
                  issession "$R" || refuse "not a session file name" "$R"
                  # Its process group (field 5) and start time (field 22, kept across the exec of perl): es
                  # then ends this very process, never a later one that got the same pid.
                  read -r x x x x pg x x x x x x x x x x x x x x x x st x </proc/$$/stat 2>/dev/null || pg= st=
                  if [ -e "$R" ] || [ -h "$R" ]; then refuse "session file exists" "$R"; fi
                  printf '%s %s %s\n' "$$" "$pg" "$st" >"./$R" || exit 1
                  SF=$R ;;
                dir)
                  path "$a/x"; d=${R%/x}
                  # (A failure here is the NAS's, not a refusal: mkdir's message goes to the daemon.)
                  if [ ! -d "$d" ]; then mkdir -p -- "./$d" || exit 1; LASTD=; path "$a/x"; fi ;;
                put|putw)
                  if [ "$v" = put ] && [ -n "$PD" ]; then
                    [ -n "${H-}" ] || refuse "no hash tool named"
                    exec perl -e "$perlcommon$perldata" -- "$tp" "$ts" "$logf" "$line" "$H" "$fault" "$KEEP" "${SF-}"
                  fi
                  path "$a"; t=$R
                  istemp "$t" || refuse "not a temp file name" "$t"
                  num "$b"; [ -z "$c" ] || num "$c"
                  [ -n "${H-}" ] || refuse "no hash tool named"
                  if [ -e "$t" ] || [ -h "$t" ]; then refuse "file exists" "$t"; fi
                  : >"./$t" || exit 1   # noclobber (set -C): created new, or the session ends
                  TEMPS="$TEMPS$b $a$NL"
                  if [ "$v" = putw ]; then
                    # A 1 MiB pipe from sshd (Linux), as the perl writer sets for itself: fewer reads a MiB.
                    [ -z "$PD" ] || perl -e 'fcntl(STDIN, 1031, 1 << 20) if $^O eq q{linux}' <&3 2>/dev/null
                    dd of="./$t" bs=1048576 count="$b" iflag=count_bytes,fullblock conv=notrunc status=none <&3 &
                    w=$!
                    tail -c +1 -s 0.1 --pid=$w -f -- "./$t" 2>/dev/null | $HS | cut -c1-64 \
                      | { read -r h; printf '%s  ./%s\n' "$h" "$t"; }
                    wait $w || exit 1
                    [ -z "$c" ] || touch -m -d "@$c" -- "./$t" || exit 1
                  else
                    if [ "$b" -gt 0 ]; then
                      dd of="./$t" bs=1048576 count="$b" iflag=count_bytes,fullblock conv=notrunc status=none || exit 1
                    fi
                    [ -z "$c" ] || touch -m -d "@$c" -- "./$t" || exit 1
                    set -- "$@" "./$t"
                  fi ;;
                app)
                  # The rest of a temp kept from a cut transfer: exactly OFFSET bytes long, appended to.
                  if [ -n "$PD" ]; then
                    [ -n "${H-}" ] || refuse "no hash tool named"
                    exec perl -e "$perlcommon$perldata" -- "$tp" "$ts" "$logf" "$line" "$H" "$fault" "$KEEP" "${SF-}"
                  fi
                  path "$a"; t=$R
                  istemp "$t" || refuse "not a temp file name" "$t"
                  num "$b"; num "$c"; [ -z "$e" ] || num "$e"
                  [ -n "${H-}" ] || refuse "no hash tool named"
                  [ "$c" -le "$b" ] || refuse "offset past the end" "$line"
                  if [ -h "$t" ] || [ ! -f "$t" ]; then refuse "not a temp file" "$t"; fi
                  [ -n "$SZF" ] || findsz
                  [ "$(sz "./$t")" = "$c" ] || { printf 'dms-receive: %s is not %s bytes long\n' "$t" "$c" >&2; exit 1; }
                  TEMPS="$TEMPS$b $a$NL"
                  if [ "$b" -gt "$c" ]; then
                    dd bs=1048576 count=$((b - c)) iflag=count_bytes,fullblock status=none >>"./$t" || exit 1
                  fi
                  [ -z "$e" ] || touch -m -d "@$e" -- "./$t" || exit 1
                  set -- "$@" "./$t" ;;
                end)
                  TEMPS=
                  if [ -n "$fault" ]; then (set +f; eval "$fault"); fi
                  if [ $# -gt 0 ]; then $HB "$@" || exit 1; fi
                  exit 0 ;;
                *) refuse "unknown data request" "$line" ;;
                esac
              done
              exit 1
            fi


            """# + controlSession
}
