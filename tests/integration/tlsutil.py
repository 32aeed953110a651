"""Certificates for the TLS tests, made at test time with the openssl CLI:
a Pki is a directory of NAME.pem and NAME.key files (CAs, certificates they
sign with any validity period and names, self-signed ones), and the pin
(sha256:BASE64 of the public key) a client would check. test_tls.py and
test_https.py make theirs once per module.
"""
import base64
import hashlib
import subprocess
import time


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


CA_CONF = """[ca]
default_ca = ca
[ca]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
"""


class Pki:
    """Files in one directory: NAME.pem and NAME.key for each certificate."""

    def __init__(self, d):
        self.dir = d
        (d / "ca.cnf").write_text(CA_CONF)

    def path(self, name):
        return str(self.dir / name)

    def ca(self, name, cn):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "30",
                "-subj", f"/CN={cn}", cwd=self.dir)
        (self.dir / f"{name}.index.txt").write_text("")
        (self.dir / f"{name}.serial").write_text("1000\n")

    def cert(self, name, cn, san=None, ca="ca", start=None, end=None, usage="serverAuth"):
        """A certificate signed by ca, valid from start to end
        (YYYYMMDDHHMMSSZ; default: now for 10 days)."""
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=self.dir)
        ext = f"basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n"
        if san:
            ext += f"subjectAltName={san}\n"
        (self.dir / f"{name}.ext").write_text(ext)
        # openssl ca: the only CLI form that takes any validity period.
        conf = CA_CONF.replace("database = index.txt", f"database = {ca}.index.txt") \
                      .replace("serial = serial", f"serial = {ca}.serial")
        (self.dir / f"{name}.cnf").write_text(conf)
        def stamp(t):
            return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))
        dates = ["-startdate", start or stamp(time.time() - 60),
                 "-enddate", end or stamp(time.time() + 10 * 86400)]
        openssl("ca", "-batch", "-config", f"{name}.cnf", "-cert", f"{ca}.pem",
                "-keyfile", f"{ca}.key", "-in", f"{name}.csr", "-out", f"{name}.pem",
                "-extfile", f"{name}.ext", "-notext", *dates, cwd=self.dir)

    def self_signed(self, name, cn, san):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "10",
                "-subj", f"/CN={cn}", "-addext", f"subjectAltName={san}", cwd=self.dir)

    def pin(self, name):
        """sha256:BASE64 of the certificate's public key, as curl computes it."""
        der = subprocess.run(
            f"openssl x509 -in {name}.pem -pubkey -noout | openssl pkey -pubin -outform der",
            shell=True, cwd=self.dir, check=True, capture_output=True).stdout
        return "sha256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
