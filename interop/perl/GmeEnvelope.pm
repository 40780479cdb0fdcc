package GmeEnvelope;
# Envelope v1 reader and writer for Perl peers of django-gearman, written from docs/design.md.
#   my ($ct, $value) = GmeEnvelope::read_envelope($payload, $job, {k1 => "secret"});
#   my $payload = GmeEnvelope::write_envelope($value, "application/json", $job, kid => "k1", secret => "secret");
# Errors die with "gme:CATEGORY: message\n" so callers (and our tests) can tell a tampered
# envelope (bad-signature) from a malformed one without parsing prose. Bytes (msgpack bin, an
# octet-stream body) are GmeMsgpack::Bytes objects; JSON objects and msgpack maps are hashes.
use strict;
use warnings;
use B ();
use Compress::Raw::Zlib ();
use Compress::Zlib ();
use File::Basename ();
use lib File::Basename::dirname(__FILE__);
use GmeMsgpack ();
use Digest::SHA qw(hmac_sha256_hex);
use JSON::PP;
use Exporter 'import';
our @EXPORT_OK = qw(read_envelope write_envelope refuse json_text);

my $JSON    = JSON::PP->new->utf8->allow_nonref->canonical->max_depth(1024);  # as Python: 1024 levels

sub refuse { die "gme:$_[0]: $_[1]\n" }

# Constant-time comparison, so a forger cannot learn the signature byte by byte.
sub same_string {
    my ($a, $b) = @_;
    return 0 unless length($a) == length($b);
    my $diff = 0;
    $diff |= ord(substr($a, $_, 1)) ^ ord(substr($b, $_, 1)) for 0 .. length($a) - 1;
    return $diff == 0;
}

# JSON integers: Perl holds [-2**63, 2**64-1] exactly (IV/UV), as Python does; JSON::PP would turn
# a literal beyond that into a rounded NV, so it is refused. So is a number too large for a double
# (1e400 reads as inf here; Python refuses it).
my $STRING_OR_LONG_INTEGER = qr/("[^"\\]*(?:\\.[^"\\]*)*")|(?<![0-9.eE+-])(-?)([0-9]{19,})(?![0-9.eE])/s;

sub beyond_64_bits {
    my ($minus, $digits) = @_;
    my $max = $minus ? '9223372036854775808' : '18446744073709551615';
    return length($digits) > length($max) || (length($digits) == length($max) && $digits gt $max);
}

sub read_json {
    my ($text) = @_;
    my $suspicious = $text =~ /[0-9]{19}|[eE][+-]?[0-9]{3}/;
    if ($suspicious) {
        while ($text =~ /$STRING_OR_LONG_INTEGER/g) {
            next if defined $1;
            refuse('decode', "integer $2$3 is beyond the 64-bit range") if beyond_64_bits($2, $3);
        }
    }
    my $value = $JSON->decode($text);
    refuse_infinity($value) if $suspicious;
    return $value;
}

sub refuse_infinity {
    my @stack = ($_[0]);
    while (@stack) {
        my $item = pop @stack;
        if (ref $item eq 'ARRAY') { push @stack, @$item }
        elsif (ref $item eq 'HASH') { push @stack, values %$item }
        elsif (!ref $item && defined $item && B::svref_2object(\$item)->FLAGS & B::SVf_NOK) {
            refuse('decode', 'a number is too large for a double') if $item == 9**9**9 || $item == -9**9**9;
        }
    }
}

my %BODY_READERS = (
    'application/json'         => \&read_json,
    'application/msgpack'      => \&GmeMsgpack::unpack_one,
    'text/plain'               => \&GmeMsgpack::text,
    'application/octet-stream' => sub { GmeMsgpack::Bytes->new($_[0]) },
);

my %DEFAULT_POLICY = (
    accept            => [ 'application/json', 'application/msgpack' ],
    require_signature => 0,
    max_header_bytes  => 8 * 1024,
    max_body_bytes    => 16 * 1024 * 1024,
    max_decoded_bytes => 64 * 1024 * 1024,
    unenveloped       => undef,    # a content type for payloads without the GME/ marker
);
my %UNSAFE = ('application/x-python-pickle' => 1);    # needs a signature; never readable here

# The reader (copy this one). Checks run in the order of docs/envelope.md: marker, header grammar,
# sizes, content type, signature, then zlib and the body. $keys maps key id => secret.
# %policy: see %DEFAULT_POLICY.
sub read_envelope {
    my ($payload, $job, $keys, %policy) = @_;
    %policy = (%DEFAULT_POLICY, map { defined $policy{$_} ? ($_ => $policy{$_}) : () } keys %policy);
    return read_unenveloped($payload, \%policy) if substr($payload, 0, 4) ne 'GME/';
    my $nl = index(substr($payload, 0, $policy{max_header_bytes} + 1), "\n");
    my ($magic, @tokens) = split / /, $nl < 0 ? substr($payload, 0, 16) : substr($payload, 0, $nl), -1;
    if ($magic ne 'GME/1') {
        refuse('unsupported-version', "envelope version $1") if $magic =~ m{\AGME/([1-9][0-9]{0,8})\z} && $1 != 1;
        refuse('malformed', 'not an envelope: no GME/1 marker');
    }
    refuse('too-large', 'header too long') if $nl < 0 && length($payload) > $policy{max_header_bytes};
    refuse('malformed', 'header is not terminated by a newline') if $nl < 0;
    my ($header, $body) = (substr($payload, 0, $nl), substr($payload, $nl + 1));
    my %f;
    for my $token (@tokens) {
        my ($k, $v) = $token =~ /\A([a-z][a-z0-9-]*)=([\x21-\x7e]+)\z/ or refuse('malformed', "bad token '$token'");
        refuse('malformed', "duplicate key $k") if exists $f{$k};
        $f{$k} = $v;
    }
    refuse('malformed', 'no ct') unless defined $f{ct};
    refuse('malformed', 'sig is not the last token') if defined $f{sig} && $tokens[-1] !~ /\Asig=/;
    refuse('malformed', 'sig must be 64 lowercase hex digits') if defined $f{sig} && $f{sig} !~ /\A[0-9a-f]{64}\z/;
    refuse('malformed', 'kid and sig go together') if defined $f{sig} != defined $f{kid};
    refuse('malformed', 'empty item in accept') if defined $f{accept} && grep { $_ eq '' } split /,/, $f{accept}, -1;
    refuse('too-large', 'body too long') if length($body) > $policy{max_body_bytes};
    refuse('not-accepted', "content type $f{ct}") unless grep { $_ eq $f{ct} } @{ $policy{accept} };
    refuse('not-accepted', "encoding $f{enc}") if defined $f{enc} && $f{enc} ne 'zlib';
    if (defined $f{sig}) {
        my $secret = $keys->{ $f{kid} } // refuse('unknown-key', "unknown key id '$f{kid}'");
        my $signed = substr($header, 0, rindex($header, ' sig='));
        same_string(hmac_sha256_hex("$job\n$signed\n$body", $secret), $f{sig})
            or refuse('bad-signature', "signature does not match job '$job'");
    }
    refuse('signature-missing', 'envelope is not signed') if !defined $f{sig} && ($policy{require_signature} || $UNSAFE{ $f{ct} });
    $body = defined $f{enc} ? inflate($body, $policy{max_decoded_bytes}) : $body;
    return (decode_body($f{ct}, $body, $policy{max_decoded_bytes}), \%f);
}

# The one rule for payloads without the marker: an unsigned body of the policy's content type.
sub read_unenveloped {
    my ($payload, $policy) = @_;
    my $ct = $policy->{unenveloped} // refuse('malformed', 'not an envelope: no GME/ marker');
    refuse('too-large', 'payload too long') if length($payload) > $policy->{max_body_bytes};
    refuse('signature-missing', 'unenveloped payloads are unsigned') if $policy->{require_signature} || $UNSAFE{$ct};
    return (decode_body($ct, $payload, $policy->{max_decoded_bytes}), {});
}

sub decode_body {
    my ($ct, $body, $limit) = @_;
    refuse('too-large', 'body too long') if length($body) > $limit;
    my $reader = $BODY_READERS{$ct} // refuse('not-accepted', "no reader for $ct");
    my $value = eval { $reader->($body) };
    refuse('decode', "unreadable $ct body: $@") if $@;
    return ($ct, $value);
}

# zlib as Python's reader takes it: never more than $limit bytes out (a bomb is refused early),
# and corrupt, truncated or trailing bytes are refused.
sub inflate {
    my ($body, $limit) = @_;
    my ($inflater) = Compress::Raw::Zlib::Inflate->new(-LimitOutput => 1, -Bufsize => 65536, -ConsumeInput => 1);
    my ($out, $status) = ('');
    do {
        my $chunk;
        $status = $inflater->inflate($body, $chunk);
        $out .= $chunk;
        refuse('too-large', "body inflates beyond $limit bytes") if length($out) > $limit;
    } while ($status == Compress::Raw::Zlib::Z_OK() || ($status == Compress::Raw::Zlib::Z_BUF_ERROR() && length $body));
    refuse('decode', 'corrupt or truncated zlib body') unless $status == Compress::Raw::Zlib::Z_STREAM_END();
    refuse('decode', 'trailing bytes after the zlib body') if length $body;
    return $out;
}

my $JSON_ASCII = JSON::PP->new->allow_nonref->ascii;    # strings as \uXXXX: the text stays ASCII

# JSON text (ASCII) with floats exact: JSON::PP prints 15 significant digits (Perl's default) and 17 are
# needed to give back the same double. $special turns bytes and non-finite floats into text (the
# default refuses them: JSON has neither).
sub json_text {
    my ($v, $special) = @_;
    $special //= sub { refuse('not-accepted', 'JSON cannot carry ' . (ref $_[0] ? 'bytes' : "the float $_[0]")) };
    return 'null' unless defined $v;
    my $ref = ref $v;
    return '[' . join(',', map { json_text($_, $special) } @$v) . ']' if $ref eq 'ARRAY';
    return '{' . join(',', map { $JSON_ASCII->encode("$_") . ':' . json_text($v->{$_}, $special) } sort keys %$v) . '}' if $ref eq 'HASH';
    return $v ? 'true' : 'false' if $ref =~ /Boolean\z/;
    return $special->($v) if $ref eq 'GmeMsgpack::Bytes';
    if ($ref eq 'Math::BigInt') {    # an exact integer (`use bigint`): all its digits, within 64 bits
        my ($minus, $digits) = "$v" =~ /\A(-?)([0-9]+)\z/ or refuse('not-accepted', "JSON cannot carry the number $v");
        refuse('not-accepted', "JSON cannot carry the integer $v: beyond 64 bits") if beyond_64_bits($minus, $digits);
        return "$v";
    }
    refuse('not-accepted', "JSON cannot carry a $ref") if $ref;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return $JSON_ASCII->encode($v) if $flags & B::SVf_POK || !($flags & (B::SVf_NOK | B::SVf_IOK));
    return "$v" if $flags & B::SVf_IOK;
    return $special->($v) if $v != $v || $v == 9**9**9 || $v == -9**9**9;
    return sprintf('%.17g', $v);
}

our %WRITABLE = (
    'application/json'         => \&json_text,
    'application/msgpack'      => \&GmeMsgpack::pack_value,
    'text/plain'               => sub { my $octets = $_[0]; utf8::encode($octets); $octets },
    'application/octet-stream' => sub { ref $_[0] ? $_[0]->bytes : $_[0] },
);

# The writer. %opts: kid + secret (sign), zlib => 1, accept => "ct1,ct2".
sub write_envelope {
    my ($value, $ct, $job, %opts) = @_;
    my $writer = $WRITABLE{$ct} // refuse('not-accepted', "cannot write $ct");
    my $body   = $writer->($value);
    my $header = "GME/1 ct=$ct";
    if ($opts{zlib}) { $body = Compress::Zlib::compress($body); $header .= ' enc=zlib' }
    $header .= " accept=$opts{accept}" if $opts{accept};
    if (defined $opts{kid}) {
        $header .= " kid=$opts{kid}";
        $header .= ' sig=' . hmac_sha256_hex("$job\n$header\n$body", $opts{secret});
    }
    return "$header\n$body";
}

1;
