extension ReceiverScript {
    /// The read session's part of the receiver (`restore`), in its own file for size; `text`
    /// includes it between the control helpers and the data session.
    static let readSession: String = #"""
        # ---- read session (restore): `get PATH` -> "@@F SIZE" and exactly SIZE bytes, or "@@M" --------
        # Published copies only (never a temp or session file), through the same path checks; nothing is
        # written. A file that shrinks while it is read is padded with zeros to SIZE and one that grows is
        # cut at SIZE, so the framing always holds (the daemon's SHA-256 check refuses such a copy).
        # With perl, one perl process serves the whole session (no process per file); without it, sh
        # with cat/dd/head per file.
        perlread='
        BEGIN { xs(q{Fcntl}) or require Fcntl }
        while (defined(my $l = line())) {
          my @f = split /\t/, $l, -1;
          exit 0 if $f[0] eq q{end} && @f == 1;
          refuse(q{unknown read request}, $l) unless $f[0] eq q{get} && @f == 2 && $f[1] ne q{};
          my ($p, $d, $name) = checked($f[1]);
          my $pre = substr($name, 0, length $tp) eq $tp;
          refuse(q{reading a temp or session file}, $p)
            if (defined $d && $pre && length($name) >= length($tp) + length($ts) && ($ts eq q{} || substr($name, -length $ts) eq $ts))
            || (!defined $d && $pre && index($name, q{.session-}, length $tp) >= 0);
          my $fh;
          if (-l "./$p" || !-f _ || !sysopen($fh, "./$p", Fcntl::O_RDONLY() | Fcntl::O_NOFOLLOW())) { out("\@\@M\n"); next }
          my $left = (stat $fh)[7];
          out("\@\@F $left\n");
          while ($left > 0) {
            my $n = sysread($fh, my $chunk, $left < 1 << 20 ? $left : 1 << 20);
            die "dms-receive: read ./$p: $!\n" unless defined $n;
            $chunk = "\0" x ($left < 1 << 20 ? $left : 1 << 20) if $n == 0;   # it shrank: pad, keep the framing
            out($chunk); $left -= length $chunk;
          }
          close $fh;
        }
        exit 1;
        '
        if [ "$kind" = read ]; then
          if [ "$noperl" != 1 ] && command -v perl >/dev/null 2>&1; then exec perl -e "$perlcommon$perlread" -- "$tp" "$ts" "$logf"; fi
          while IFS= read -r line; do
            case $line in *"$TAB"*) v=${line%%"$TAB"*}; a=${line#*"$TAB"} ;; *) v=$line; a= ;; esac
            case $v in
            get)
              case $a in ''|*"$TAB"*) refuse "get needs 1 field" "$line" ;; esac
              path "$a"; p=$R
              if istemp "$p" || issession "$p"; then refuse "reading a temp or session file" "$p"; fi
              if [ -h "$p" ] || [ ! -f "$p" ]; then printf '@@M\n'; continue; fi
              s=$(sz "./$p") || { printf '@@M\n'; continue; }
              printf '@@F %s\n' "$s"
              if [ "$s" -gt 0 ]; then
                { cat -- "./$p" 2>/dev/null; dd if=/dev/zero bs=1048576 count="$s" iflag=count_bytes status=none 2>/dev/null; } | head -c "$s" || exit 1
              fi ;;
            end) exit 0 ;;
            *) refuse "unknown read request" "$line" ;;
            esac
          done
          exit 1
        fi

        """#
}
