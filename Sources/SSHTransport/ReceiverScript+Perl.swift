extension ReceiverScript {
    /// The data session's perl (with it, one process writes a whole batch), in its own file for
    /// size; `text` includes it before the data session's sh. (The blank line before each closing
    /// delimiter keeps the last line's newline.)
    static let dataPerl: String = #"""
        # ---- data session: folders, temp files of exact length, hashed in runs as they are written
        # With perl, the puts are taken over by one perl process (the same checks; no process per file:
        # hundreds of small files per batch); without it, one dd per file.
        perldata='
        BEGIN { xs(q{Fcntl}) or require Fcntl }
        # A larger pipe from sshd (Linux: F_SETPIPE_SZ, up to pipe-max-size): fewer reads and wake-ups
        # per MiB on both sides of it. Nothing else changes if it is refused.
        fcntl(STDIN, 1031, 1 << 20) if $^O eq q{linux};
        my ($first, $tool, $fault, $keep, $sf) = @ARGV;
        # A session that ends early (the stream cut, a refusal, a failure) removes the temps it
        # created, except those of files of $keep bytes or more (the daemon resumes them); none kept
        # with 0, nothing removed without a tidy line (an older daemon). Never on a complete batch.
        my @temps;
        END { if (defined $keep && $keep ne q{}) { for (@temps) { unlink $_->[1] if $keep == 0 || $_->[0] < $keep } } }
        my (@files, @fin);
        # Every 4 MiB (and 8 files) of temps written, one run of the hash tool over them starts in the
        # background: the NAS hashes while the next files stream, and only the last few are left at the
        # end. (At least 8 files a run: a tool starts in about 5 ms. Not with a fault hook, which runs
        # before any hashing.)
        my (@runs, @rest);
        my $restb = 0;
        # A file under 1 MiB is read back and hashed here (Digest::SHA, a core module since perl 5.10), from
        # its own handle right after its last write: what the NAS now holds, as the tool would read it,
        # without a tool run (a process start and an open, a stat and a read a file, most of a batch of
        # small files) or its wait at the end. Hashes by temp, and as the tool would print them. Not with
        # a fault hook (it runs before any hashing), nor without Digest::SHA (the tool then, as before).
        my (%mine, $dsha, %put);
        # fin ID TEMP FINAL SHA256: after the files, what the daemon hashed as it sent them. At end the
        # temps not hashed yet are hashed too; each whose hash is the one announced is published (as pb),
        # "@@PB ID P|E|X why|D" (D: differs, not published) follows the hash lines, and every temp not
        # published is removed, with the session file: no round trip left for the daemon.
        sub fin {
          my ($i, $tr, $fr, $sha) = @_;
          num($i);
          refuse(q{not a SHA-256}, $sha) unless $sha =~ /\A[0-9a-f]{64}\z/;
          # A temp this session wrote was checked by put: only the final name is left to check.
          my $t = $put{$tr};
          push @fin, [$i, defined $t ? ($t, pubfinal($fr)) : pubnames($tr, $fr), $sha];
        }
        # Then a temp name only, created new (O_EXCL never follows a link), or with an offset: an existing
        # temp of exactly that length, appended to (O_NOFOLLOW).
        sub put {
          my ($raw, $n, $mt, $at) = @_;
          my ($p, $d, $name) = checked($raw);
          refuse(q{not a temp file name}, $p) unless istemp($d, $name);
          num($n);
          refuse(q{not a number}, $mt) unless !defined $mt || $mt eq q{} || $mt =~ /\A[0-9]+\z/;
          my ($fh, $size) = (undef, $n);
          my $rd = $n < 1048576 && !defined $at && $fault eq q{} && ($dsha //= (xs(q{Digest::SHA}) || eval { require Digest::SHA; 1 }) ? 1 : 0);
          if (defined $at) {
            num($at);
            refuse(q{offset past the end}, $at) if $at > $n;
            sysopen($fh, "./$p", Fcntl::O_WRONLY() | Fcntl::O_APPEND() | Fcntl::O_NOFOLLOW()) or refuse(q{not a temp file}, $p);
            my @st = stat $fh; refuse(q{not a temp file}, $p) unless -f _;
            die "dms-receive: ./$p is not $at bytes long\n" unless $st[7] == $at;
            $n -= $at;
          } else {
            sysopen($fh, "./$p", ($rd ? Fcntl::O_RDWR() : Fcntl::O_WRONLY()) | Fcntl::O_CREAT() | Fcntl::O_EXCL(), 0666) or (eexist() ? refuse(q{file exists}, $p) : die "dms-receive: cannot create ./$p: $!\n");
          }
          push @temps, [$size, "./$p"];
          $put{$raw} = "./$p";
          while ($n > 0) {
            if (!length $buf) { more() or die "dms-receive: the stream ended inside ./$p\n" }
            my $k = length($buf) < $n ? length($buf) : $n;
            my $off = 0;
            while ($off < $k) { my $w = syswrite($fh, $buf, $k - $off, $off); die "dms-receive: write ./$p: $!\n" unless defined $w; $off += $w }
            substr($buf, 0, $k) = q{}; $n -= $k;
          }
          if ($rd) {
            sysseek($fh, 0, 0) or die "dms-receive: seek ./$p: $!\n";
            # (Under 1 MiB: read whole, then hashed in one call.)
            my ($b, $r) = (q{});
            1 while $r = sysread($fh, $b, 65536, length $b);
            die "dms-receive: read ./$p: $!\n" unless defined $r;
            $mine{"./$p"} = Digest::SHA::sha256_hex($b);
          }
          close $fh or die "dms-receive: close ./$p: $!\n";
          utime($mt, $mt, "./$p") or die "dms-receive: utime ./$p: $!\n" if defined $mt && $mt ne q{};
          push @files, "./$p";
          return if $rd;
          push @rest, "./$p";
          $restb += $size;
          if ($restb >= 4194304 && @rest >= 8 && $fault eq q{}) { push @runs, hashopen($tool, @rest); @rest = (); $restb = 0 }
        }
        for (my $l = $first; defined $l; $l = line()) {
          my @f = split /\t/, $l, -1;
          if ($f[0] eq q{put} && (@f == 3 || @f == 4)) { put($f[1], $f[2], $f[3]) }
          elsif ($f[0] eq q{app} && (@f == 4 || @f == 5)) { put($f[1], $f[2], $f[4], $f[3]) }
          elsif ($f[0] eq q{fin} && @f == 5) { fin(@f[1..4]) }
          elsif ($f[0] eq q{end} && @f == 1) {
            @temps = ();
            system(q{sh}, q{-c}, "set +f; $fault") if $fault ne q{};
            exit 0 unless @files;
            my ($o, %h) = (join(q{}, map { "$mine{$_} *$_\n" } keys %mine), %mine);
            my $got = \%h;
            for (@runs, @rest ? hashopen($tool, @rest) : ()) {
              my ($x, $ok) = hashread($_, $got);
              $ok or die "dms-receive: $hb{$tool}[0] failed\n";
              $o .= $x;
            }
            # Without fin lines (an older daemon, or the sh publisher), the hash lines are the answer.
            unless (@fin) { out($o); exit 0 }
            my %done;
            for (@fin) {
              my ($i, $t, $f, $sha) = @$_;
              my $r = defined $got->{$t} && $got->{$t} eq $sha ? publish1($t, $f) : q{D};
              $done{$t} = 1 if $r eq q{P};
              $o .= "\@\@PB $i $r\n";
            }
            unlink grep { !$done{$_} } @files;
            unlink "./$sf" if defined $sf && $sf ne q{};
            out($o);
            exit 0;
          }
          else { refuse(q{unknown data request}, $l) }
        }
        exit 1;
        '

        """#

    /// The control session's perl for `pb` and `blk` (probes and publishes of a batch), included
    /// before the control session's loop.
    static let controlPerl: String = #"""
        # pb and pr with perl: the checks of the sh verbs below, then the work, in one perl process for
        # a whole batch (hundreds of files: no sh loop over them, no process per file). `pb LINE`: one
        # pb request line. `blk N`: exactly N bytes of pb, pr and ver lines follow on standard input, read
        # here with exact lengths, never past them (dash reads a request line a byte at a time). A
        # refusal exits 3 and ends the session.
        perlctl='
        my ($tool, $mode, $arg) = @ARGV;
        # (sha256sum puts a backslash before the hash of a name with a backslash or a line break.)
        sub h1 { open(my $h, q{-|}, @{$hb{$tool}}, $_[0]) or die "dms-receive: $tool: $!\n"; my $l = <$h> // q{}; close $h; $l =~ s/\A\\//; substr($l, 0, 64) }
        sub pb {
          my @f = @_;
          refuse(q{pb needs ID TEMP FINAL triples}, join(q{ }, @f)) unless @f && @f % 3 == 0;
          my @todo;
          while (@f) {
            my ($i, $tr, $fr) = splice(@f, 0, 3);
            num($i);
            my ($t, $f) = pubnames($tr, $fr);
            refuse(q{not a temp file}, substr($t, 2)) unless -f $t && !-l $t;
            push @todo, [$i, $t, $f];
          }
          join q{}, map { "$_->[0] " . publish1($_->[1], $_->[2]) . "\n" } @todo
        }
        # pr ID FOLDER NAME STEM EXT SIZE, as the sh pr() below.
        sub pr {
          my ($id, $df, @names) = @_;
          my $size = pop @names;
          num($id); num($size);
          my (undef, $d) = checked("$df/x");
          my ($nm, $st, $ex) = map { my $v = dec($_); refuse(q{bad escape}, $_) unless defined $v; refuse(q{a name with /}, $v) if $v =~ m{/}; $v } @names;
          refuse(q{path outside the base}, $nm) if $nm eq q{} || $nm eq q{.} || $nm eq q{..};
          my ($n, $p, $o) = (0, "$d/$nm", q{});
          while (-e $p || -l $p) {
            $o .= "$id S $n " . h1("./$p") . "\n" if -f $p && !-l $p && (stat _)[7] == $size;
            $n++;
            return "$o$id X\n" if $n > 9999;
            $p = "$d/${st}_$n$ex";
          }
          "$o$id F $n\n"
        }
        # ver ID PATH MODE, as the sh ver() below, for a blk of them (the re-verification before each
        # delayed deletion): the answers with a hash come last, from one run of the hash tool over all
        # those files, where the sh way starts four processes a file. A name whose line in the tool
        # output would not be one line as given (LF, CR, backslash) is hashed alone.
        my @vq;
        sub ver {
          my ($id, $raw, $mode) = @_;
          num($id);
          my ($p) = checked($raw);
          return "$id M\n" if -l "./$p" || !-f _;
          my $s = (stat _)[7];
          return "$id Z $s\n" if $mode eq q{size};
          push @vq, [$id, "./$p", $s];
          q{}
        }
        sub verhashes {
          my @many = grep { $_->[1] !~ /[\n\r\\]/ } @vq;
          # (The tool fails when a file went away meanwhile: that file just has no hash.)
          my $h = @many ? (hashrun($tool, map { $_->[1] } @many))[1] : {};
          for (grep { $_->[1] =~ /[\n\r\\]/ } @vq) { my $x = h1($_->[1]); $h->{$_->[1]} = lc $x if $x =~ /\A[0-9a-fA-F]{64}\z/ }
          join q{}, map { defined $h->{$_->[1]} ? "$_->[0] H $_->[2] $h->{$_->[1]}\n" : "$_->[0] U hash\n" } @vq
        }
        sub request {
          my @f = split /\t/, $_[0], -1;
          my $v = shift @f;
          return pb(@f) if $v eq q{pb};
          if ($v eq q{ver}) { refuse(q{ver needs 3 fields}, $_[0]) unless @f == 3; return ver(@f) }
          refuse(q{pr needs 6 fields}, $_[0]) unless $v eq q{pr} && @f == 6;
          pr(@f)
        }
        if ($mode eq q{pb}) { out(request($arg)) }
        else {
          num($arg);
          my $in = q{};
          while (length($in) < $arg) { my $r = sysread(STDIN, $in, $arg - length($in), length $in); die "dms-receive: read: $!\n" unless defined $r; refuse(q{blk ended early}) unless $r }
          my $o = q{};
          $o .= request($_) for split /\n/, $in;
          out($o . verhashes());
        }
        '

        """#
}
