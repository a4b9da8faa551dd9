#!/usr/bin/perl
# Verifies the RSA DKIM signatures and the ARC chain of a message with Mail::DKIM (Debian 12's
# Mail::DKIM does not verify Ed25519), keys from a DNS server on 127.0.0.1:PORT.
# verify_mail_dkim.pl PORT MESSAGE RSA_COUNT ARC   (RSA_COUNT "fail": all must fail; ARC "pass",
# "none" or "-"). Exits 0 when everything is as expected.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::ARC::Verifier;
use Net::DNS::Resolver;

my ($port, $file, $want, $want_arc) = @ARGV;
my $res = Net::DNS::Resolver->new(
    nameservers => ['127.0.0.1'], port => $port, recurse => 1, udp_timeout => 5,
    tcp_timeout => 5, retry => 2);
Mail::DKIM::DNS::resolver($res);

sub feed {
    my ($v) = @_;
    open(my $fh, '<:raw', $file) or die "cannot read $file: $!";
    local $/;
    my $text = <$fh>;
    $v->PRINT($text);
    $v->CLOSE;
}

my $dkim = Mail::DKIM::Verifier->new();
feed($dkim);
my ($rsa, $passed) = (0, 0);
foreach my $sig ($dkim->signatures) {
    my $alg = $sig->algorithm // '';
    printf "mail-dkim: dkim %s d=%s s=%s a=%s %s\n", $sig->result, $sig->domain, $sig->selector,
        $alg, $sig->result_detail;
    next unless $alg eq 'rsa-sha256';
    $rsa++;
    $passed++ if $sig->result eq 'pass';
}
my $ok = 1;
if ($want eq 'fail') {
    if ($passed || !$rsa) { print "mail-dkim: expected every RSA signature to fail\n"; $ok = 0; }
} elsif ($rsa != $want || $passed != $rsa) {
    print "mail-dkim: expected $want RSA signatures to pass, $passed of $rsa passed\n";
    $ok = 0;
}
if ($want_arc ne '-') {
    my $arc = Mail::DKIM::ARC::Verifier->new();
    feed($arc);
    printf "mail-dkim: arc %s (%s)\n", $arc->result, $arc->result_detail;
    if ($arc->result ne $want_arc) { print "mail-dkim: expected arc $want_arc\n"; $ok = 0; }
}
exit($ok ? 0 : 1);
