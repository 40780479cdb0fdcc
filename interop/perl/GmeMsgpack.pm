package GmeMsgpack;
# A small exact msgpack codec for the Perl peer. Data::MessagePack (1.02) writes no bin type and
# cannot tell a bin from a str, so bytes would reach Python as text; here bytes are
# GmeMsgpack::Bytes objects, str must be valid UTF-8, and booleans are JSON::PP's.
#   my $value = GmeMsgpack::unpack_one($data);    # dies "msgpack: ...\n" on bad data
#   my $data  = GmeMsgpack::pack_value($value);
use strict;
use warnings;
no warnings 'recursion';    # values may nest 1024 deep, as in Python
use B ();
use JSON::PP ();

package GmeMsgpack::Bytes {
    sub new   { my ($class, $bytes) = @_; return bless \$bytes, $class }
    sub bytes { return ${ $_[0] } }
}

my $MAX_DEPTH = 1024;
my %LENGTH = (0xc4 => 'C', 0xc5 => 'n', 0xc6 => 'N', 0xd9 => 'C', 0xda => 'n', 0xdb => 'N',
              0xdc => 'n', 0xdd => 'N', 0xde => 'n', 0xdf => 'N');
my %NUMBER = (0xca => 'f>', 0xcb => 'd>', 0xcc => 'C', 0xcd => 'n', 0xce => 'N', 0xcf => 'Q>',
              0xd0 => 'c', 0xd1 => 's>', 0xd2 => 'l>', 0xd3 => 'q>');

sub unpack_one {
    my ($data) = @_;
    my $at = 0;
    my $value = read_value(\$data, \$at, 0);
    die "msgpack: trailing bytes after the value\n" if $at != length $data;
    return $value;
}

sub take {
    my ($data, $at, $n) = @_;
    die "msgpack: truncated data\n" if $$at + $n > length $$data;
    my $chunk = substr($$data, $$at, $n);
    $$at += $n;
    return $chunk;
}

# UTF-8 as Python reads it: Encode's strict "UTF-8" also refuses noncharacters such as U+FFFF,
# which Python accepts, so decode laxly and refuse surrogates and code points past U+10FFFF.
sub text {
    my ($octets) = @_;
    my $text = $octets;
    no warnings 'utf8';
    die "str is not valid UTF-8\n" unless utf8::decode($text) && $text !~ /[\x{D800}-\x{DFFF}]|[^\x{0}-\x{10FFFF}]/;
    return $text;
}

# $depth: how many containers enclose this value (Python allows 1024 nested containers).
sub text_or_die {
    my $text = eval { text($_[0]) };
    die "msgpack: $@" unless defined $text;
    return $text;
}

sub read_value {
    my ($data, $at, $depth) = @_;
    my $t = ord take($data, $at, 1);
    return $t if $t <= 0x7f;
    return $t - 0x100 if $t >= 0xe0;
    return text_or_die(take($data, $at, $t & 0x1f)) if ($t & 0xe0) == 0xa0;
    return read_list($data, $at, $t & 0x0f, $depth) if ($t & 0xf0) == 0x90;
    return read_map($data, $at, $t & 0x0f, $depth) if ($t & 0xf0) == 0x80;
    return undef if $t == 0xc0;
    return JSON::PP::false if $t == 0xc2;
    return JSON::PP::true if $t == 0xc3;
    if (my $format = $LENGTH{$t}) {
        my $n = unpack $format, take($data, $at, length pack($format, 0));
        return GmeMsgpack::Bytes->new(take($data, $at, $n)) if $t <= 0xc6;
        return text_or_die(take($data, $at, $n)) if $t <= 0xdb;
        return $t <= 0xdd ? read_list($data, $at, $n, $depth) : read_map($data, $at, $n, $depth);
    }
    my $format = $NUMBER{$t} // die sprintf("msgpack: unsupported type 0x%02x\n", $t);
    return unpack $format, take($data, $at, length pack($format, 0));
}

sub read_list {
    my ($data, $at, $n, $depth) = @_;
    die "msgpack: nested deeper than $MAX_DEPTH levels\n" if $depth >= $MAX_DEPTH;
    return [ map { read_value($data, $at, $depth + 1) } 1 .. $n ];
}

sub read_map {
    my ($data, $at, $n, $depth) = @_;
    die "msgpack: nested deeper than $MAX_DEPTH levels\n" if $depth >= $MAX_DEPTH;
    my %map;
    for (1 .. $n) {
        my $key = read_value($data, $at, $depth + 1);
        die "msgpack: map key is not a str\n" if !defined $key || ref $key;
        $map{$key} = read_value($data, $at, $depth + 1);
    }
    return \%map;
}

sub pack_value {
    my ($v) = @_;
    return "\xc0" unless defined $v;
    my $ref = ref $v;
    return $v ? "\xc3" : "\xc2" if $ref =~ /Boolean\z/;
    return head(length $$v, undef, "\xc4", "\xc5", "\xc6") . $$v if $ref eq 'GmeMsgpack::Bytes';
    return head(scalar @$v, 0x90, undef, "\xdc", "\xdd") . join('', map { pack_value($_) } @$v) if $ref eq 'ARRAY';
    if ($ref eq 'HASH') {
        my $items = join '', map { pack_text($_) . pack_value($v->{$_}) } sort keys %$v;
        return head(scalar keys %$v, 0x80, undef, "\xde", "\xdf") . $items;
    }
    die "msgpack: cannot carry a $ref\n" if $ref;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return pack_text($v) if $flags & B::SVf_POK || !($flags & (B::SVf_IOK | B::SVf_NOK));
    return "\xcb" . pack('d>', $v) unless $flags & B::SVf_IOK;
    return pack_integer($v);
}

sub pack_integer {
    my ($n) = @_;
    if ($n >= 0) {
        return chr $n if $n < 0x80;
        return "\xcc" . pack('C', $n) if $n < 0x100;
        return "\xcd" . pack('n', $n) if $n < 0x10000;
        return "\xce" . pack('N', $n) if $n < 4294967296;
        return "\xcf" . pack('Q>', $n);
    }
    return pack('c', $n) if $n >= -32;
    return "\xd0" . pack('c', $n) if $n >= -0x80;
    return "\xd1" . pack('s>', $n) if $n >= -0x8000;
    return "\xd2" . pack('l>', $n) if $n >= -0x80000000;
    return "\xd3" . pack('q>', $n);
}

sub pack_text {
    my $octets = $_[0];
    utf8::encode($octets);    # not Encode's strict "UTF-8": it would replace noncharacters (U+FFFF)
    return head(length $octets, 0xa0, "\xd9", "\xda", "\xdb") . $octets;
}

# Type byte plus length: the fix form when it fits, else the 8-, 16- or 32-bit length form.
sub head {
    my ($n, $fix, $b8, $b16, $b32) = @_;
    return chr($fix | $n) if defined $fix && $n <= ($fix == 0xa0 ? 31 : 15);
    return $b8 . pack('C', $n) if defined $b8 && $n < 0x100;
    return $n < 0x10000 ? $b16 . pack('n', $n) : $b32 . pack('N', $n);
}

1;
