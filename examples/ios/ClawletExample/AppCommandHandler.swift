// CommandHandler: what the gateway may ask this phone to do. Serves
//   device.info   {model, modelIdentifier, systemName, osVersion, appVersion, ...}
//   location.get  {lat, lon, accuracyMeters, altitudeMeters?, speedMps?, headingDeg?, timestamp,
//                  isPrecise, source}; params {desiredAccuracy?: coarse|balanced|precise,
//                  maxAgeMs?, timeoutMs?} as OpenClaw's nodes send and take them.
// A thrown CommandError becomes the invoke's error code (PERMISSION_DENIED,
// NODE_BACKGROUND_UNAVAILABLE, ...). The SDK cancels the Task when the gateway cancels the invoke.
import CoreLocation
import Foundation
import UIKit
import Clawlet

final class AppCommandHandler: CommandHandler, @unchecked Sendable {
    func handle(invoke: Invoke) async throws -> String? {
        switch invoke.command {
        case "device.info":
            return try json(await deviceInfo())
        case "location.get":
            let params = try LocationParams(json: invoke.paramsJson, invokeTimeoutMs: invoke.timeoutMs)
            return try json(await LocationAccess.current(params))
        default:
            throw CommandError.Unavailable(message: "\(invoke.command) is not supported by this app")
        }
    }

    @MainActor
    private func deviceInfo() -> [String: Any] {
        let device = UIDevice.current
        return [
            "model": device.model,
            "modelIdentifier": Self.modelIdentifier(),
            "systemName": device.systemName,
            "osVersion": device.systemVersion,
            "appVersion": Self.appVersion(),
            "name": device.name,
            "locale": Locale.current.identifier,
        ]
    }

    /// "iPhone16,2": the hardware model behind the marketing name.
    static func modelIdentifier() -> String {
        var info = utsname()
        uname(&info)
        return withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    static func appVersion() -> String {
        let info = Bundle.main.infoDictionary
        let version = info?["CFBundleShortVersionString"] as? String ?? "0"
        let build = info?["CFBundleVersion"] as? String
        return build.map { "\(version) (\($0))" } ?? version
    }

    private func json(_ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

struct LocationParams {
    var accuracy: CLLocationAccuracy = kCLLocationAccuracyHundredMeters
    var maxAgeMs: Double?
    var timeoutMs: Double = 10_000

    init(json: String?, invokeTimeoutMs: UInt64?) throws {
        if let budget = invokeTimeoutMs { timeoutMs = min(timeoutMs, Double(budget)) }
        guard let json, !json.isEmpty else { return }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw CommandError.InvalidParams(message: "params must be a JSON object")
        }
        switch object["desiredAccuracy"] as? String {
        case nil, "balanced": accuracy = kCLLocationAccuracyHundredMeters
        case "coarse": accuracy = kCLLocationAccuracyKilometer
        case "precise": accuracy = kCLLocationAccuracyBest
        case let other?:
            throw CommandError.InvalidParams(message: "desiredAccuracy must be coarse, balanced or precise, not \(other)")
        }
        if let maxAge = object["maxAgeMs"] as? Double, maxAge >= 0 { maxAgeMs = maxAge }
        if let timeout = object["timeoutMs"] as? Double {
            timeoutMs = min(max(timeout, 1_000), 60_000)
        }
    }
}

/// One-shot CoreLocation fix behind the platform's permission rules.
@MainActor
enum LocationAccess {
    nonisolated static func isAuthorized() -> Bool {
        switch CLLocationManager().authorizationStatus {
        case .authorizedAlways, .authorizedWhenInUse: return true
        default: return false
        }
    }

    static func current(_ params: LocationParams) async throws -> [String: Any] {
        let manager = CLLocationManager()
        let authorization = manager.authorizationStatus
        switch authorization {
        case .notDetermined, .denied, .restricted:
            throw CommandError.PermissionDenied(
                message: "location permission not granted (Settings > Privacy > Location Services)")
        default:
            break
        }
        // iOS gives "When In Use" apps no location in the background; say so with the code
        // operators know, instead of timing out.
        if UIApplication.shared.applicationState == .background, authorization != .authorizedAlways {
            throw CommandError.BackgroundUnavailable(message: "location.get needs the app in the foreground")
        }
        if let maxAge = params.maxAgeMs, let cached = manager.location,
           -cached.timestamp.timeIntervalSinceNow * 1000 <= maxAge {
            return encode(cached)
        }
        manager.desiredAccuracy = params.accuracy
        let fix = try await OneShotLocation(manager: manager).request(timeoutMs: params.timeoutMs)
        return encode(fix)
    }

    private static func encode(_ location: CLLocation) -> [String: Any] {
        var out: [String: Any] = [
            "lat": location.coordinate.latitude,
            "lon": location.coordinate.longitude,
            "accuracyMeters": location.horizontalAccuracy,
            "isPrecise": location.horizontalAccuracy <= 100,
            "timestamp": ISO8601DateFormatter().string(from: location.timestamp),
            "source": "unknown",
        ]
        if location.verticalAccuracy >= 0 { out["altitudeMeters"] = location.altitude }
        if location.speed >= 0 { out["speedMps"] = location.speed }
        if location.course >= 0 { out["headingDeg"] = location.course }
        return out
    }
}

/// CLLocationManager.requestLocation() as an async call with a timeout.
@MainActor
private final class OneShotLocation: NSObject, CLLocationManagerDelegate {
    private let manager: CLLocationManager
    private var continuation: CheckedContinuation<CLLocation, Error>?

    init(manager: CLLocationManager) {
        self.manager = manager
    }

    func request(timeoutMs: Double) async throws -> CLLocation {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.continuation = continuation
                manager.delegate = self
                manager.requestLocation()
                Task { @MainActor in
                    try? await Task.sleep(nanoseconds: UInt64(timeoutMs * 1_000_000))
                    self.finish(.failure(CommandError.Failed(code: "LOCATION_TIMEOUT", message: "no fix in time")))
                }
            }
        } onCancel: {
            // The gateway cancelled the invoke.
            Task { @MainActor in self.finish(.failure(CancellationError())) }
        }
    }

    private func finish(_ result: Result<CLLocation, Error>) {
        guard let continuation else { return }
        self.continuation = nil
        manager.stopUpdatingLocation()
        continuation.resume(with: result)
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let last = locations.last else { return }
        Task { @MainActor in self.finish(.success(last)) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        let failure: Error
        if (error as? CLError)?.code == .denied {
            failure = CommandError.PermissionDenied(message: "location permission was revoked")
        } else {
            failure = CommandError.Unavailable(message: "location unavailable: \(error.localizedDescription)")
        }
        Task { @MainActor in self.finish(.failure(failure)) }
    }
}
