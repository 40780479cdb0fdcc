#!/usr/bin/perl
# Reproduces a Gearman::Worker (2.004) bug: a job whose result is a false string ("0" or "")
# is answered with a WORK_COMPLETE packet that lacks the NUL after the job handle, so gearmand
# never sees the job complete, and the job is handed out again. Each run prints "run N".
#   false_result_worker.pl HOST:PORT FUNCTION RESULT MAX_RUNS SECONDS
# Bounded: exits after MAX_RUNS runs or SECONDS seconds, whichever comes first.
use strict;
use warnings;
use Gearman::Worker;

my ($server, $function, $result, $max_runs, $seconds) = @ARGV;
die "usage: $0 HOST:PORT FUNCTION RESULT MAX_RUNS SECONDS\n" unless defined $seconds;
$| = 1;
my $runs = 0;
my $deadline = time + $seconds;
$SIG{ALRM} = sub { print "deadline\n"; exit 0 };
alarm $seconds;
my $worker = Gearman::Worker->new(job_servers => [$server]);
$worker->register_function($function => sub {
    $runs++;
    print "run $runs\n";
    return $result;
});
print "ready\n";
$worker->work(stop_if => sub { $runs >= $max_runs || time > $deadline });
print "stopped after $runs runs\n";
