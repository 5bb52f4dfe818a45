"""A local stand-in of Alibaba Cloud's SMS API (Dysmsapi 2017-05-25, action SendSms), for tests.

It is not Aliyun: it answers the official SDK's signed request the way the API documents
(`{"Code": "OK", "BizId": …}`, or an error code such as `isv.MOBILE_NUMBER_ILLEGAL`) and keeps
every request it received, so a test can check what the production sender really sends."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class AliyunSmsStandIn:
    def __init__(self, answer_code="OK"):
        self.requests = []
        self.answer_code = answer_code
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
                query.update({key: values[0] for key, values in parse_qs(body).items()})
                stand_in.requests.append({"method": self.command, "headers": dict(self.headers), "params": query})
                answer = {"RequestId": "STANDIN-1", "Code": stand_in.answer_code,
                          "Message": "OK" if stand_in.answer_code == "OK" else "refused by the stand-in"}
                if stand_in.answer_code == "OK":
                    answer["BizId"] = "900619746936498440^0"
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
