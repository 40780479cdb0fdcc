# Runs the Perl snippets of docs/interop.md (inserted below by test_doc_snippets.py) on requests from stdin.
use strict; use warnings; use JSON::PP;
do "{repo}/interop/perl/peer.pl" or die "peer.pl: $@";
#SNIPPETS#
my $json = JSON::PP->new->utf8->canonical->allow_nonref;
my @out;
for my $r (@{ $json->decode(do { local $/; <STDIN> }) }) {
    if ($r->{mode} eq 'write') {
        my @key = defined $r->{kid} ? ($r->{kid}, pack('H*', $r->{secret_hex})) : ();
        push @out, $json->encode({ payload_hex => unpack('H*', write_gme_envelope($r->{value}, $r->{job}, @key)) });
        next;
    }
    my %keys = map { $_ => pack('H*', $r->{keys}{$_}) } keys %{ $r->{keys} };
    my @got = eval { read_gme_envelope(pack('H*', $r->{payload_hex}), $r->{job}, \%keys) };
    push @out, $@ ? $json->encode({ ok => JSON::PP::false, error => "$@" })
                  : '{"ok":true,"ct":' . $json->encode($got[0]) . ',"value":' . to_canon($got[1]) . '}';
}
print '[', join(',', @out), ']';
