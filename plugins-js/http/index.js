// http: GET the input URL through the host's http_request and output
// "{status} {body}". Which hosts may be reached is the host's decision.
function fetch() {
  const response = Http.request({ url: Host.inputString(), method: "GET" });
  Host.outputString(`${response.status} ${response.body}`);
}

module.exports = { fetch };
