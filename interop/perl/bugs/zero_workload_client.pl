#!/usr/bin/perl
# Reproduces a Gearman::Client (2.004) bug: the workload "0" is sent as an empty workload
# (Gearman::Task writes `${ $argref } || ''`). Prints what the worker answered, or "timeout".
#   zero_workload_client.pl HOST:PORT FUNCTION WORKLOAD SECONDS
use strict;
use warnings;
use Gearman::Client;

my ($server, $function, $workload, $seconds) = @ARGV;
die "usage: $0 HOST:PORT FUNCTION WORKLOAD SECONDS\n" unless defined $seconds;
my $client = Gearman::Client->new(job_servers => [$server]);
my $result = $client->do_task($function, $workload, { timeout => $seconds });
print defined $result ? "result:$$result\n" : "timeout\n";
