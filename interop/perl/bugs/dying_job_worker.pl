#!/usr/bin/perl
# Reproduces Gearman::Worker (2.004) answering a job that dies with a Perl Storable blob as
# WORK_EXCEPTION (then a WORK_FAIL): nothing another language can read.
#   dying_job_worker.pl HOST:PORT FUNCTION SECONDS     (serves one job, or stops after SECONDS)
use strict;
use warnings;
use Gearman::Worker;

my ($server, $function, $seconds) = @ARGV;
die "usage: $0 HOST:PORT FUNCTION SECONDS\n" unless defined $seconds;
$SIG{ALRM} = sub { exit 0 };
alarm $seconds;
my $runs = 0;
my $worker = Gearman::Worker->new(job_servers => [$server]);
$worker->register_function($function => sub { $runs++; die "job died\n" });
$worker->work(stop_if => sub { $runs >= 1 });
