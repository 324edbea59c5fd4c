import Foundation

open class UIApplication {
    public static let didEnterBackgroundNotification = Notification.Name("UIApplicationDidEnterBackgroundNotification")
    public static let willEnterForegroundNotification = Notification.Name("UIApplicationWillEnterForegroundNotification")
}

/// Darwin's clock reader (Glibc has CLOCK_MONOTONIC but not this), for the stub build only.
public func clock_gettime_nsec_np(_ clock: Int32) -> UInt64 { 0 }
