// Outgoing HTTP through the host: the plugin describes the request, the host
// checks it against the manifest's `allowed_hosts`, sends it and hands back
// the body, status and headers.

package pdk

import "encoding/json"

// HTTPMethod is the verb of an HTTPRequest.
type HTTPMethod int32

const (
	MethodGet HTTPMethod = iota
	MethodHead
	MethodPost
	MethodPut
	MethodPatch
	MethodDelete
	MethodConnect
	MethodOptions
	MethodTrace
)

// String is the method's name on the wire, e.g. "GET".
func (m HTTPMethod) String() string {
	switch m {
	case MethodGet:
		return "GET"
	case MethodHead:
		return "HEAD"
	case MethodPost:
		return "POST"
	case MethodPut:
		return "PUT"
	case MethodPatch:
		return "PATCH"
	case MethodDelete:
		return "DELETE"
	case MethodConnect:
		return "CONNECT"
	case MethodOptions:
		return "OPTIONS"
	case MethodTrace:
		return "TRACE"
	}
	return ""
}

// HTTPRequestMeta is the request as the host receives it (JSON).
type HTTPRequestMeta struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
}

// HTTPRequest is a request being built; Send performs it.
type HTTPRequest struct {
	meta HTTPRequestMeta
	body []byte
}

// HTTPResponse is what the host returned for a request.
type HTTPResponse struct {
	memory  Memory
	status  uint16
	headers map[string]string
}

// NewHTTPRequest starts a request with no headers and no body.
func NewHTTPRequest(method HTTPMethod, url string) *HTTPRequest {
	return &HTTPRequest{meta: HTTPRequestMeta{
		URL:     url,
		Method:  method.String(),
		Headers: map[string]string{},
	}}
}

// SetHeader sets one request header, replacing an earlier value.
func (r *HTTPRequest) SetHeader(key string, value string) *HTTPRequest {
	if r.meta.Headers == nil {
		r.meta.Headers = map[string]string{}
	}
	r.meta.Headers[key] = value
	return r
}

// SetBody sets the request body.
func (r *HTTPRequest) SetBody(body []byte) *HTTPRequest {
	r.body = body
	return r
}

// Send performs the request through the host. A request the host refuses
// (e.g. a host not in `allowed_hosts`) fails the whole call: it does not return.
func (r *HTTPRequest) Send() HTTPResponse {
	meta, _ := json.Marshal(r.meta) // strings and a string map always encode
	req := AllocateBytes(meta)
	var body uint64 // 0: no body
	if len(r.body) > 0 {
		body = AllocateBytes(r.body).offset
	}
	offset := extismHTTPRequest(req.offset, body)
	resp := HTTPResponse{
		memory:  NewMemory(offset, extismLengthUnsafe(offset)),
		status:  uint16(extismHTTPStatusCode()),
		headers: map[string]string{},
	}
	// Headers are only there when the manifest asks the host to return them.
	if h := extismHTTPHeaders(); h != 0 {
		mem := FindMemory(h)
		_ = json.Unmarshal(mem.ReadBytes(), &resp.headers)
		mem.Free()
	}
	return resp
}

// Memory is the block holding the response body.
func (r HTTPResponse) Memory() Memory {
	return r.memory
}

// Body returns a copy of the response body (nil when empty).
func (r HTTPResponse) Body() []byte {
	if r.memory.length == 0 {
		return nil
	}
	return r.memory.ReadBytes()
}

// Status is the HTTP status code.
func (r HTTPResponse) Status() uint16 {
	return r.status
}

// Headers returns the response headers the host passed on (possibly none).
func (r *HTTPResponse) Headers() map[string]string {
	return r.headers
}
