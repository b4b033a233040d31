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
use strict; use warnings; use Fcntl;
my ($tp, $ts, $logf) = @ARGV;
my ($buf, $lastd) = (q{}, q{});
sub clean { my $s = substr($_[0], 0, 200); $s =~ s/[^ -~]/?/g; $s }
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
sub out { my $off = 0; while ($off < length $_[0]) { my $w = syswrite(STDOUT, $_[0], length($_[0]) - $off, $off); die "dms-receive: write: $!\n" unless defined $w; $off += $w } }
sub more { my $r = sysread(STDIN, $buf, 1 << 16, length $buf); die "dms-receive: read: $!\n" unless defined $r; $r }
sub line { for (;;) { my $i = index($buf, "\n"); if ($i >= 0) { my $l = substr($buf, 0, $i); substr($buf, 0, $i + 1) = q{}; return $l } return undef unless more() } }
sub dec { my $f = shift; return q{} if $f eq q{%}; return undef if $f =~ /%(?!25|09|0[AaDd])/; $f =~ s/%(25|09|0[AaDd])/chr(hex $1)/ge; $f }
# The same checks as the sh path() and istemp/issession.
while (defined(my $l = line())) {
  my @f = split /\t/, $l, -1;
  exit 0 if $f[0] eq q{end} && @f == 1;
  refuse(q{unknown read request}, $l) unless $f[0] eq q{get} && @f == 2 && $f[1] ne q{};
  my $p = dec($f[1]); refuse(q{bad escape}, $f[1]) unless defined $p;
  refuse(q{path outside the base}, $p) if "/$p/" =~ m{//|/\./|/\.\./};
  my ($d, $name) = $p =~ m{\A(?:(.*)/)?([^/]*)\z}s;
  if (defined $d && $d ne $lastd) {
    my $q = q{};
    for my $c (split m{/}, $d) { $q = $q eq q{} ? $c : "$q/$c"; refuse(q{symbolic link on the way}, $q) if -l $q; refuse(q{not a folder}, $q) if -e _ && !-d _ }
    $lastd = $d;
  }
  my $pre = substr($name, 0, length $tp) eq $tp;
  refuse(q{reading a temp or session file}, $p)
    if (defined $d && $pre && length($name) >= length($tp) + length($ts) && ($ts eq q{} || substr($name, -length $ts) eq $ts))
    || (!defined $d && $pre && index($name, q{.session-}, length $tp) >= 0);
  my $fh;
  if (-l "./$p" || !-f _ || !sysopen($fh, "./$p", O_RDONLY | O_NOFOLLOW)) { out("\@\@M\n"); next }
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
  if [ "$noperl" != 1 ] && command -v perl >/dev/null 2>&1; then exec perl -e "$perlread" -- "$tp" "$ts" "$logf"; fi
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
