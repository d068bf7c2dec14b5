#!/usr/bin/perl
# tests/dkim/mail_dkim.pl — Mail::DKIM as an interop peer for tests/dkim/interop.py.
#   mail_dkim.pl sign CANON DOMAIN SELECTOR KEYFILE < message   -> prints the DKIM-Signature field
#   mail_dkim.pl verify ZONEFILE < message                      -> "selector result" per signature
# DNS comes from the zone file (owner TXT "..." lines) through Mail::DKIM::DNS::resolver.
use strict;
use warnings;
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Mail::DKIM::TextWrap;
use Net::DNS;

package ZoneResolver;

sub new {
	my ($class, $file) = @_;
	my %zone;
	open my $fh, '<', $file or die "$file: $!";
	while (<$fh>) {
		next if /^\s*(;|$)/;
		my ($owner, $type, $rest) = split ' ', $_, 3;
		next unless $type eq 'TXT';
		$owner = lc $owner;
		$owner =~ s/\.$//;
		my @strings = $rest =~ /"((?:[^"\\]|\\.)*)"/g;
		push @{ $zone{$owner} }, join('', @strings);
	}
	return bless { zone => \%zone, err => 'NOERROR' }, $class;
}

sub send {
	my ($self, $name, $type) = @_;
	my $key = lc $name;
	$key =~ s/\.$//;
	my $packet = Net::DNS::Packet->new($name, $type);
	my $records = $self->{zone}{$key};
	if (!$records) {
		$packet->header->rcode('NXDOMAIN');
		return $packet;
	}
	for my $txt (@$records) {
		my @chunks = unpack '(A255)*', $txt;
		$packet->push(answer => Net::DNS::RR->new(name => $name, type => 'TXT',
		                                          txtdata => \@chunks));
	}
	return $packet;
}

sub errorstring { return $_[0]{err} }

package main;

sub read_message {
	local $/;
	my $m = <STDIN>;
	$m =~ s/\r?\n/\r\n/g;
	return $m;
}

my $cmd = shift @ARGV // '';
if ($cmd eq 'sign') {
	my ($canon, $domain, $selector, $keyfile) = @ARGV;
	my $signer = Mail::DKIM::Signer->new(
		Algorithm => 'rsa-sha256', Method => $canon, Domain => $domain,
		Selector => $selector, KeyFile => $keyfile,
		Headers => 'from:to:subject:date:message-id');
	$signer->PRINT(read_message());
	$signer->CLOSE;
	print $signer->signature->as_string, "\r\n";
} elsif ($cmd eq 'verify') {
	Mail::DKIM::DNS::resolver(ZoneResolver->new($ARGV[0]));
	my $v = Mail::DKIM::Verifier->new();
	$v->PRINT(read_message());
	$v->CLOSE;
	for my $sig ($v->signatures) {
		printf "%s %s\n", $sig->selector // '-', $sig->result;
	}
} else {
	die "usage: mail_dkim.pl sign|verify ...\n";
}
