#!/usr/bin/perl
# Perl peer for the interop tests (docs/interop.md):
#   peer.pl worker --server=HOST:PORT --prefix=interop.perl [--key=KID=HEXSECRET] [--max-jobs=N] [--seconds=S]
#   peer.pl client --server=HOST:PORT --function=NAME --call=JSON [--ct=CT] [--key=KID=HEX]
#                  [--verify-key=KID=HEX] [--zlib] [--timeout=S]
#   peer.pl read  < requests.json   # [{payload_hex, job, keys: {kid: hex}, policy: {accept, ...}}]
#   peer.pl write < requests.json   # [{value, ct, job, kid, secret_hex, zlib}] -> [{payload_hex}]
# Values cross the process boundary as "canonical JSON": bytes are {"$bytes": HEX}, non-finite
# floats {"$float": "nan"|"inf"|"-inf"}; in write requests, {"$int": DIGITS} is an integer that
# a JSON parser might round.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use B ();
use Getopt::Long qw(GetOptionsFromArray);
use Gearman::Client;
use Gearman::Worker;
use JSON::PP;
use Math::BigInt;
use GmeEnvelope qw(read_envelope write_envelope refuse json_text);

my $CANON = JSON::PP->new->utf8->canonical->allow_nonref->max_depth(4096);
no warnings 'recursion';    # values may nest 1024 deep, as in Python

# A value as canonical JSON text: bytes become {"$bytes": HEX}, non-finite floats {"$float": ...}.
sub to_canon {
    return json_text($_[0], sub {
        my ($v) = @_;
        return '{"$bytes":"' . unpack('H*', $v->bytes) . '"}' if ref $v;
        return '{"$float":"' . ($v != $v ? 'nan' : $v > 0 ? 'inf' : '-inf') . '"}';
    });
}

sub from_canon {
    my ($v) = @_;
    return [ map { from_canon($_) } @$v ] if ref $v eq 'ARRAY';
    if (ref $v eq 'HASH') {
        return GmeMsgpack::Bytes->new(pack('H*', $v->{'$bytes'})) if keys %$v == 1 && exists $v->{'$bytes'};
        return 0 + $v->{'$int'} if keys %$v == 1 && exists $v->{'$int'};
        return { nan => 9**9**9 / 9**9**9, inf => 9**9**9, '-inf' => -9**9**9 }->{ $v->{'$float'} }
            if keys %$v == 1 && exists $v->{'$float'};
        return { map { $_ => from_canon($v->{$_}) } keys %$v };
    }
    return $v;
}

sub secrets { my ($keys) = @_; return { map { $_ => pack('H*', $keys->{$_}) } keys %{ $keys || {} } } }

sub read_requests { local $/; my $text = <STDIN>; return $CANON->decode($text) }

sub cmd_read {
    my @out;
    for my $req (@{ read_requests() }) {
        my $policy = $req->{policy} || {};
        my @got = eval { read_envelope(pack('H*', $req->{payload_hex}), $req->{job}, secrets($req->{keys}), %$policy) };
        if (my $err = $@) {
            my ($category, $message) = $err =~ /\Agme:([a-z-]+): (.*)/s ? ($1, $2) : ('crash', $err);
            push @out, $CANON->encode({ ok => JSON::PP::false, error => $category, message => $message });
        } else {
            push @out, '{"ok":true,"ct":' . $CANON->encode($got[0]) . ',"value":' . to_canon($got[1]) . '}';
        }
    }
    print '[', join(',', @out), "]\n";
}

sub cmd_write {
    my @out;
    for my $req (@{ read_requests() }) {
        my $payload = write_envelope(from_canon($req->{value}), $req->{ct}, $req->{job},
            zlib => $req->{zlib}, defined $req->{kid} ? (kid => $req->{kid}, secret => pack('H*', $req->{secret_hex})) : ());
        push @out, { payload_hex => unpack('H*', $payload) };
    }
    print $CANON->encode(\@out), "\n";
}

# The jobs every peer worker offers (tests/interop/ calls them): PREFIX.reverse, .echo, .add,
# .power (an exact integer, a Math::BigInt here), .fail.
my %JOBS = (
    reverse => sub { my ($args) = @_; return scalar reverse $args->[0] },
    echo    => sub { my ($args, $kwargs) = @_; return { args => $args, kwargs => $kwargs } },
    add     => sub { my ($args) = @_; my $sum = 0; $sum += $_ for @$args; return $sum },
    power   => sub { my ($args) = @_; return Math::BigInt->new("$args->[0]")->bpow("$args->[1]") },
    fail    => sub { my ($args) = @_; die { type => 'interop.perl.JobFailed', message => "failed: $args->[0]" } },
);

sub cmd_worker {
    my @argv = @_;
    my %opt = (key => {}, 'max-jobs' => 100, seconds => 60);
    GetOptionsFromArray(\@argv, \%opt, 'server=s', 'prefix=s', 'key=s%', 'max-jobs=i', 'seconds=i')
        or die "usage: peer.pl worker --server=HOST:PORT --prefix=NAME [--key=KID=HEX]\n";
    my $keys = secrets($opt{key});
    my ($kid) = sort keys %$keys;
    my $worker = Gearman::Worker->new(job_servers => [ $opt{server} ]);
    my $done = 0;
    for my $name (sort keys %JOBS) {
        my $function = "$opt{prefix}.$name";
        $worker->register_function($function => sub {
            my ($job) = @_;
            $done++;
            my ($ct, $call, $fields) = eval { read_envelope($job->arg, $function, $keys, require_signature => !!%$keys) };
            my $error = $@ ? { type => 'interop.perl.BadEnvelope', message => "$@", refused => JSON::PP::true } : undef;
            $ct = 'application/json' if $error;
            if (!$error && (ref $call ne 'HASH' || ref $call->{args} ne 'ARRAY' || ref $call->{kwargs} ne 'HASH')) {
                $error = { type => 'interop.perl.BadCall', message => 'body is not {"args": [...], "kwargs": {...}}', refused => JSON::PP::true };
            }
            # The reply's type (docs/envelope.md): the first listed in accept that this worker
            # writes, the request's type without a list; none writable: refused, the job not run.
            my $reply_ct = defined $fields->{accept}
                ? (grep { exists $GmeEnvelope::WRITABLE{$_} } split /,/, $fields->{accept})[0] : $ct;
            $error //= { type => 'interop.perl.NotNegotiable', refused => JSON::PP::true,
                         message => "no content type of accept=$fields->{accept} can be written" } unless defined $reply_ct;
            my $result = $error ? undef : eval { $JOBS{$name}->($call->{args}, $call->{kwargs}) };
            $error //= ref $@ ? $@ : { type => 'interop.perl.Crash', message => "$@" } if $@;
            my @sign = $kid ? (kid => $kid, secret => $keys->{$kid}) : ();
            my $envelope = $error ? undef : eval { write_envelope($result, $reply_ct, $function, @sign) };
            $error //= { type => 'interop.perl.Unwritable', message => "$@" } if !$error && !defined $envelope;
            if ($error) {
                $error->{traceback} //= '';
                # Never die here: Gearman::Worker would send a Storable blob as WORK_EXCEPTION.
                # Error envelopes are JSON, whatever the caller accepts: every peer reads them.
                $worker->send_work_exception($job, write_envelope({ error => $error }, 'application/json', $function, @sign));
                return undef;
            }
            return $envelope;
        });
    }
    my $deadline = time + $opt{seconds};
    print "ready\n";
    STDOUT->flush;
    $worker->work(stop_if => sub { $done >= $opt{'max-jobs'} || time > $deadline });
}

# Submits one enveloped call, waits (bounded) and prints the outcome as canonical JSON.
sub cmd_client {
    my @argv = @_;
    my %opt = (key => {}, 'verify-key' => {}, ct => 'application/json', timeout => 30);
    GetOptionsFromArray(\@argv, \%opt, 'server=s', 'function=s', 'call=s', 'ct=s', 'key=s%', 'verify-key=s%',
                        'zlib', 'timeout=f')
        or die "usage: peer.pl client --server=HOST:PORT --function=NAME --call=JSON [--ct=CT] [--key=KID=HEX]\n";
    my $keys = secrets($opt{key});
    my $reply_keys = %{ $opt{'verify-key'} } ? secrets($opt{'verify-key'}) : $keys;
    my ($kid) = sort keys %$keys;
    my $function = $opt{function};
    my $payload = write_envelope($CANON->decode($opt{call}), $opt{ct}, $function, zlib => $opt{zlib},
                                 accept => 'application/json', $kid ? (kid => $kid, secret => $keys->{$kid}) : ());
    my %outcome = (state => 'timeout');
    my $client = Gearman::Client->new(job_servers => [ $opt{server} ], exceptions => 1);
    my $tasks = $client->new_task_set;
    $tasks->add_task($function, \$payload, {
        on_complete  => sub { %outcome = (state => 'complete', data => ${ $_[0] }) },
        on_exception => sub { %outcome = (state => 'exception', data => $_[0]) },
        on_fail      => sub { %outcome = (state => 'failed') unless $outcome{data} },
    });
    $tasks->wait(timeout => $opt{timeout});
    if (!defined $outcome{data}) {
        print $CANON->encode({ state => $outcome{state} }), "\n";
        return;
    }
    my ($ct, $value, $fields) = read_envelope($outcome{data}, $function, $reply_keys);
    my $head = $CANON->encode({ state => $outcome{state}, ct => $ct, kid => $fields->{kid} });
    print substr($head, 0, -1), ',"value":', to_canon($value), "}\n";
}

# Run as a script; `do "peer.pl"` only loads the helpers (to_canon, from_canon).
unless (caller) {
    my $command = shift @ARGV // '';
    if    ($command eq 'read')   { cmd_read() }
    elsif ($command eq 'write')  { cmd_write() }
    elsif ($command eq 'worker') { cmd_worker(@ARGV) }
    elsif ($command eq 'client') { cmd_client(@ARGV) }
    else  { die "usage: peer.pl read|write|worker|client ...\n" }
}
1;
