#!/usr/bin/python3
"""DMARC aggregate reports as receivers mail them, made from the RFC 7489 appendix C schema and
the DMARCbis one: usage make_reports.py OUT_DIR REPORT_ADDRESS. Writes one .eml per case:
  google.eml     gzip attachment (application/gzip), RFC 7489 schema, two records
  microsoft.eml  zip attachment, DMARCbis namespace, one record
  yahoo.eml      bare XML as the whole body (application/xml, base64)
  broken.eml     gzip of XML that is not well-formed
  nothing.eml    a text mail with no report at all
"""
import gzip
import io
import sys
import time
import zipfile
from email.message import EmailMessage
from email.policy import SMTP

out, to = sys.argv[1], sys.argv[2]
now = int(time.time())
begin, end = now - 86400, now - 60


def record(ip, count, dkim, spf, disposition="none", header_from="example.com"):
    return f"""
  <record>
    <row>
      <source_ip>{ip}</source_ip>
      <count>{count}</count>
      <policy_evaluated><disposition>{disposition}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated>
    </row>
    <identifiers><header_from>{header_from}</header_from></identifiers>
    <auth_results>
      <dkim><domain>{header_from}</domain><result>{dkim}</result><selector>s1</selector></dkim>
      <spf><domain>{header_from}</domain><result>{spf}</result></spf>
    </auth_results>
  </record>"""


def feedback(org, report_id, records, namespace=""):
    ns = f' xmlns="{namespace}"' if namespace else ""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<feedback{ns}>
  <report_metadata>
    <org_name>{org}</org_name>
    <email>noreply-dmarc@{org}</email>
    <report_id>{report_id}</report_id>
    <date_range><begin>{begin}</begin><end>{end}</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>quarantine</p><pct>100</pct></policy_published>
  {''.join(records)}
</feedback>
""".encode()


def mail(sender, subject):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    return m


google = feedback("google.com", "1234567890123456789", [
    record("192.0.2.10", 120, "pass", "pass"),
    record("198.51.100.66", 7, "fail", "fail", "quarantine"),
])
m = mail("noreply-dmarc-support@google.com", "Report domain: example.com Submitter: google.com")
m.set_content("This is an aggregate report from google.com.")
m.add_attachment(gzip.compress(google), maintype="application", subtype="gzip",
                 filename=f"google.com!example.com!{begin}!{end}.xml.gz")
open(f"{out}/google.eml", "wb").write(m.as_bytes(policy=SMTP))

buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(f"enterprise.protection.outlook.com!example.com!{begin}!{end}.xml",
               feedback("enterprise.protection.outlook.com", "a1b2c3d4e5f6", [
                   record("192.0.2.10", 30, "pass", "fail"),
               ], namespace="urn:ietf:params:xml:ns:dmarc-2.0"))
m = mail("dmarcreport@microsoft.com", "Report Domain: example.com Submitter: protection.outlook.com")
m.set_content("DMARC aggregate report.")
m.add_attachment(buf.getvalue(), maintype="application", subtype="zip",
                 filename=f"enterprise.protection.outlook.com!example.com!{begin}!{end}.zip")
open(f"{out}/microsoft.eml", "wb").write(m.as_bytes(policy=SMTP))

m = mail("dmarc_support@yahoo.com", "Report Domain: example.com Submitter: yahoo.com")
m.set_content(feedback("yahoo.com", "1700000000.998877", [
    record("192.0.2.11", 3, "fail", "pass"),
]), maintype="application", subtype="xml")
open(f"{out}/yahoo.eml", "wb").write(m.as_bytes(policy=SMTP))

m = mail("dmarc@broken.example", "Report Domain: example.com Submitter: broken.example")
m.set_content("A report.")
m.add_attachment(gzip.compress(b"<?xml version='1.0'?><feedback><report_metadata><org_name>x"),
                 maintype="application", subtype="gzip", filename="broken.xml.gz")
open(f"{out}/broken.eml", "wb").write(m.as_bytes(policy=SMTP))

m = mail("someone@elsewhere.example", "hello")
m.set_content("Not a report at all.")
open(f"{out}/nothing.eml", "wb").write(m.as_bytes(policy=SMTP))
