# Run by perl under the shim (tests/bats/programs.bats): big strings,
# arrays and hashes, sorted and digested.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);

my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed; }

my %count;
my @words;
for my $i (1 .. 150_000) {
	my $w = 'w' . (rnd() % 40_000);
	push @words, $w;
	$count{$w}++;
}
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
print join(' ', map { "$_=$count{$_}" } @top), "\n";

my $big = join(',', @words);
my $copy = $big x 8;
substr($copy, 1000, 5000) = '';
$copy =~ s/w1(\d)/W1$1/g;
print length($big), ' ', length($copy), ' ', md5_hex($copy), "\n";

my @sorted = sort { $a <=> $b } map { rnd() } 1 .. 200_000;
print md5_hex(join(' ', @sorted[0 .. 999])), "\n";
my $block = "x" x (32 * 1024 * 1024);
$block .= "y" x (8 * 1024 * 1024);
print length($block), ' ', md5_hex($block), "\n";
