@testable import SwitchboardProviders
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Vectors from AWS's published SigV4 test suite (also reproduced with botocore 1.43.11's SigV4Auth).
@Suite struct SigV4SignerTests {
    static let suiteSigner = SigV4Signer(
        credentials: SigV4Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1",
        service: "service"
    )
    static let suiteDate = "20150830T123600Z"
    static let suiteHeaders: [(name: String, value: String)] = [("Host", "example.amazonaws.com"), ("X-Amz-Date", suiteDate)]
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test func getVanilla() {
        let request = SigV4Request(method: "GET", path: "/", headers: Self.suiteHeaders, body: [UInt8]())
        let signed = Self.suiteSigner.sign(request, amzDate: Self.suiteDate)
        #expect(signed.canonicalRequest == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(Self.emptyHash)")
        #expect(signed.stringToSign == """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """)
        #expect(signed.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    }

    @Test func postVanilla() {
        let request = SigV4Request(method: "POST", path: "/", headers: Self.suiteHeaders, body: [UInt8]())
        #expect(Self.suiteSigner.sign(request, amzDate: Self.suiteDate).signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    @Test func getVanillaQueryOrderKeyCase() {
        let request = SigV4Request(method: "GET", path: "/", query: "Param2=value2&Param1=value1", headers: Self.suiteHeaders, body: [UInt8]())
        let signed = Self.suiteSigner.sign(request, amzDate: Self.suiteDate)
        #expect(signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2] == "Param1=value1&Param2=value2")
        #expect(signed.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func postXWWWFormURLEncoded() {
        let request = SigV4Request(
            method: "POST",
            path: "/",
            headers: [("Content-Type", "application/x-www-form-urlencoded")] + Self.suiteHeaders,
            body: Array("Param1=value1".utf8)
        )
        let signed = Self.suiteSigner.sign(request, amzDate: Self.suiteDate)
        #expect(signed.signedHeaders == "content-type;host;x-amz-date")
        #expect(signed.canonicalRequest.hasSuffix("9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"))
        #expect(signed.signature == "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    }

    /// A Converse call on an inference-profile ARN with temporary credentials; the expected
    /// signature was computed with botocore's SigV4Auth for exactly this request.
    @Test func bedrockConverseWithModelARNAndSessionToken() {
        let signer = SigV4Signer(
            credentials: SigV4Credentials(
                accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN//+abc="
            ),
            region: "us-west-2",
            service: "bedrock"
        )
        let arn = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"
        let path = "/model/" + SigV4Signer.uriEncode(arn) + "/converse"
        #expect(
            path
                == "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
        )
        let body = Array(#"{"messages":[{"content":[{"text":"Hello"}],"role":"user"}]}"#.utf8)
        let request = SigV4Request(
            method: "POST",
            path: path,
            headers: [
                ("host", "bedrock-runtime.us-west-2.amazonaws.com"),
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            body: body
        )
        // 2024-01-02T03:04:05Z
        let date = Date(timeIntervalSince1970: 1_704_164_645)
        #expect(SigV4Signer.amzDate(date) == "20240102T030405Z")
        let added = signer.authorizationHeaders(for: request, at: date)
        #expect(added.map(\.name) == ["x-amz-date", "x-amz-security-token", "authorization"])
        #expect(added[1].value == "FwoGZXIvYXdzEXAMPLETOKEN//+abc=")
        #expect(
            added[2].value
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240102/us-west-2/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature=c6c1ce35369e685613f33386dec41f4cfd8e98804ac8e39f0f6ec4547776f3e4"
        )
        var complete = request
        complete.headers += added.dropLast()
        let signed = signer.sign(complete, amzDate: "20240102T030405Z")
        let canonicalURI = signed.canonicalRequest.split(separator: "\n")[1]
        #expect(
            canonicalURI
                == "/model/arn%253Aaws%253Abedrock%253Aus-west-2%253A123456789012%253Ainference-profile%252Fus.anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse"
        )
    }

    @Test func headerValuesAreTrimmedAndCollapsed() {
        let (canonical, signed) = SigV4Signer.canonicalHeaders([("My-Header1", "  value1  "), ("my-header2", "\"a   b   c\""), ("My-Header1", "value2")])
        #expect(canonical == "my-header1:value1,value2\nmy-header2:\"a b c\"\n")
        #expect(signed == "my-header1;my-header2")
    }

    @Test func amzDateHandlesLeapDaysAndEpoch() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 951_825_599)) == "20000229T115959Z")
    }
}
